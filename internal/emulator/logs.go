package emulator

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// logLine is one line of a build log and when it is written.
type logLine struct {
	at   time.Time
	text string
}

// logScript is the whole log a build writes over its life, in order. The
// lines are spread over the build's phases: queued, building (the base image,
// then each step), certifying, snapshotting, and the end. A failure is the
// last line ("error CODE: message"); a failed step ends the log after its
// own lines.
func logScript(b *build) []logLine {
	q, d := b.InsertedAt, b.duration
	at := func(tenths int64) time.Time { return q.Add(time.Duration(int64(d) * tenths / 10)) }
	var out []logLine
	add := func(t time.Time, format string, args ...any) {
		out = append(out, logLine{t, fmt.Sprintf(format, args...)})
	}
	failure := func() {
		add(q.Add(d), "error %s: %s", b.failCode, b.failMsg)
	}
	add(q, "build %s of template %s queued (source %s)", b.ID, b.TemplateName, b.SourceType)
	if b.immediate {
		out[0].text += "; not started"
		out = append(out, logLine{q, "error " + b.failCode + ": " + b.failMsg})
		return out
	}
	start, certify, snapshot, end := at(1), at(6), at(8), q.Add(d)
	from, _ := b.BuildSpec["from"].(string)
	if from == "" {
		rt, _ := b.BuildSpec["runtime"].(string)
		v, _ := b.BuildSpec["version"].(string)
		from = strings.TrimSpace("runtime " + rt + " " + v)
	}
	workdir, _ := b.BuildSpec["workdir"].(string)
	user, _ := b.BuildSpec["user"].(string)
	add(start, "building on emulator builder emu-1")
	add(start, "resolving base image %s", from)
	add(start, "pulling %s: 3 layers", from)
	add(start, "pulled %s", from)
	add(start, "workdir %s, user %s", workdir, user)
	steps := stepRuns(b.BuildSpec)
	if len(steps) == 0 {
		add(start, "no build steps")
	}
	slot := certify.Sub(start) / time.Duration(max(len(steps), 1))
	for i, run := range steps {
		s := start.Add(slot * time.Duration(i))
		add(s, "step %d/%d: %s", i+1, len(steps), run)
		add(s.Add(slot/3), "  $ %s", run)
		add(s.Add(slot/3), "  (emulated output of step %d)", i+1)
		if b.failStep == i+1 {
			failure()
			return out
		}
		add(s.Add(slot*2/3), "step %d/%d finished: exit 0", i+1, len(steps))
	}
	add(certify, "certifying: booting a sandbox from the image")
	add(certify, "certifying: exec check passed")
	add(certify, "certifying: network check passed")
	add(snapshot, "snapshotting: writing rootfs, memory and vm state")
	add(snapshot, "snapshotting: done")
	if b.failCode != "" {
		failure()
		return out
	}
	add(end, "ready: image img_%s", imageSuffix(b.ID))
	return out
}

// buildLogText is the part of a build's log written by now.
func buildLogText(b *build, now time.Time) []byte {
	var buf bytes.Buffer
	for _, l := range logScript(b) {
		if l.at.After(now) {
			break
		}
		fmt.Fprintf(&buf, "%s %s\n", l.at.UTC().Format("2006-01-02T15:04:05.000Z"), l.text)
	}
	return buf.Bytes()
}

// serveBuildLog serves the plain-text log of the build whose escaped id is
// escapedID, honouring Range requests (a suffix range "bytes=-N" answers
// 206 with the last N bytes).
func (s *Server) serveBuildLog(w http.ResponseWriter, r *http.Request, escapedID string) {
	id, err := url.PathUnescape(escapedID)
	s.mu.Lock()
	s.counters.Requests["log"]++
	now := s.opts.Clock()
	s.st.advance(now)
	var text []byte
	found := false
	if b := s.st.findBuild(id); err == nil && b != nil {
		text, found = buildLogText(b, now), true
	}
	s.mu.Unlock()
	if !found {
		http.Error(w, "build not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(text))
}
