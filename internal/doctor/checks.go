package doctor

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// checkList describes the list's shape: its envelope, how many rows are
// built-in and how many the account's own, and whether rows carry slug or
// metadata.
func (d *doctor) checkList(pr *miosa.ProbeResponse) {
	rows, err := pr.Rows()
	if err != nil {
		d.set(CheckList, Fail, "the list is not in a form the action reads: a bare array, {data} or {default_template_id, data} of template rows",
			"check that the URL is the Miosa API's", map[string]any{"error": shorten(err.Error(), 200)})
		return
	}
	var doc any
	_ = json.Unmarshal(pr.Body, &doc) // Rows decoded it
	shape, items, others := listShape(doc)
	// The pages the answer announces in a form the action follows are no
	// surprise: the action reads them all.
	paging, total, pagingKeys := pr.Paging()
	others = slices.DeleteFunc(others, func(k string) bool { return slices.Contains(pagingKeys, k) })
	builtIn := 0
	for _, r := range rows {
		if r.BuiltIn {
			builtIn++
		}
	}
	withSlug, withMetadata := 0, 0
	for _, it := range items {
		m, _ := it.(map[string]any)
		if _, ok := m["slug"]; ok {
			withSlug++
		}
		if _, ok := m["metadata"]; ok {
			withMetadata++
		}
	}
	details := map[string]any{
		"shape": shape, "rows": len(rows), "built_in": builtIn, "own": len(rows) - builtIn,
		"rows_with_slug": withSlug, "rows_with_metadata": withMetadata,
	}
	head := fmt.Sprintf("%s of %s", shape, plural(len(rows), "row"))
	if paging != "" {
		head += fmt.Sprintf(" on the first page (%s in all; the action reads every page, following the %s)",
			listTotal(total), map[string]string{"page": "page object", "next": "next link", "link": "Link header"}[paging])
		details["paging"] = paging
		if total >= 0 {
			details["total"] = total
		}
	}
	msg := fmt.Sprintf("%s: %d built-in, %d of your own; rows carry %s", head,
		builtIn, len(rows)-builtIn, carried(len(items), []string{"slug", "metadata"}, []int{withSlug, withMetadata}))
	switch {
	case len(others) > 0:
		details["other_keys"] = others
		d.set(CheckList, Warn, msg+"; the answer also holds "+strings.Join(others, ", "),
			"if the list is paginated in a form the action does not follow (it follows a page object, a next link and a Link header), the action sees only the first page and may try to create a template that exists", details)
	case shape == "{templates}":
		d.set(CheckList, Warn, msg, "an undocumented envelope: the action reads it, but the documented forms are a bare array, {data} and {default_template_id, data}", details)
	default:
		d.set(CheckList, OK, msg, "", details)
	}
}

// listTotal says how many rows the whole list holds.
func listTotal(total int64) string {
	if total < 0 {
		return "a length the answer does not say"
	}
	return plural(int(total), "row")
}

// listShape names the list's envelope and returns its rows and any other
// keys of the envelope.
func listShape(doc any) (shape string, items []any, others []string) {
	if a, ok := doc.([]any); ok {
		return "a bare array", a, nil
	}
	m, _ := doc.(map[string]any)
	for k := range m {
		switch k {
		case "data", "default_template_id", "templates":
		default:
			others = append(others, k)
		}
	}
	slices.Sort(others)
	switch {
	case m["data"] != nil:
		items, _ = m["data"].([]any)
		if _, ok := m["default_template_id"]; ok {
			return "{default_template_id, data}", items, others
		}
		return "{data}", items, others
	default:
		items, _ = m["templates"].([]any)
		return "{templates}", items, others
	}
}

// carried renders which fields the rows carry: "neither slug nor
// metadata", "metadata, not slug", "slug on 3 of 25 and metadata".
func carried(n int, fields []string, with []int) string {
	var have, lack []string
	for i, f := range fields {
		switch {
		case with[i] == 0:
			lack = append(lack, f)
		case with[i] == n:
			have = append(have, f)
		default:
			have = append(have, fmt.Sprintf("%s on %d of %d", f, with[i], n))
		}
	}
	switch {
	case len(have) == 0:
		return "neither " + strings.Join(lack, " nor ")
	case len(lack) == 0:
		return strings.Join(have, " and ")
	}
	return strings.Join(have, " and ") + ", not " + strings.Join(lack, " or ")
}

// absent reports the statuses that say an endpoint does not exist.
func absent(status int) bool {
	return status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented
}

// checkSchema fetches the build-spec schema and compares its top-level
// fields with the embedded schema's.
func (d *doctor) checkSchema(ctx context.Context) {
	const fallback = "the action warns and checks files against its embedded schema"
	pr, err := d.probe(ctx, http.MethodGet, "/sandbox-templates/build-spec")
	var e *miosa.Error
	errors.As(err, &e)
	switch {
	case pr == nil:
		kind, detail := d.client.ConnFailure(err)
		d.set(CheckSchema, Warn, fmt.Sprintf("no answer from the schema endpoint (%s: %s)", cmp.Or(kind, "interrupted"), detail), fallback, nil)
		return
	case absent(pr.Status):
		d.set(CheckSchema, Warn, fmt.Sprintf("no schema endpoint (%d)", pr.Status),
			"the action checks files against its embedded schema only; the server's own rules apply when it creates or builds",
			map[string]any{"present": false, "status": pr.Status})
		return
	case err != nil:
		d.set(CheckSchema, Warn, fmt.Sprintf("the schema endpoint answered HTTP %d%s", pr.Status, says(e)), fallback,
			map[string]any{"present": true, "status": pr.Status})
		return
	}
	doc, err := pr.SchemaDocument()
	if err != nil {
		d.set(CheckSchema, Warn, "the schema endpoint answers, but not with a JSON Schema", fallback, map[string]any{"present": true, "status": pr.Status})
		return
	}
	if _, err := schema.Compile(doc); err != nil {
		d.set(CheckSchema, Warn, "the server's schema does not compile: "+shorten(err.Error(), 200), fallback, map[string]any{"present": true, "status": pr.Status})
		return
	}
	server, embedded := describeSchema(doc), describeSchema(schema.Embedded())
	onlyServer, onlyEmbedded := difference(server.fields, embedded.fields), difference(embedded.fields, server.fields)
	details := map[string]any{
		"present": true, "status": pr.Status, "draft": server.draft, "fields": server.fields,
		"only_server": onlyServer, "only_embedded": onlyEmbedded,
	}
	msg := "present: " + server.draft
	if server.version != "" {
		details["version"] = server.version
		msg += ", version " + server.version
	}
	if len(server.fields) == 0 {
		msg += ", no top-level properties"
	} else {
		msg += fmt.Sprintf(", %s (%s)", plural(len(server.fields), "top-level field"), strings.Join(server.fields, ", "))
	}
	if len(onlyServer) == 0 && len(onlyEmbedded) == 0 {
		d.set(CheckSchema, OK, msg+", the same as the embedded schema's", "", details)
		return
	}
	var hints []string
	if len(onlyServer) > 0 {
		msg += "; only the server knows " + strings.Join(onlyServer, ", ")
		hints = append(hints, "files that use "+strings.Join(onlyServer, ", ")+" fail offline validation (runs without a key, fork pull requests)")
	}
	if len(onlyEmbedded) > 0 {
		msg += "; only the embedded schema knows " + strings.Join(onlyEmbedded, ", ")
		hints = append(hints, "runs with a key check files against the server's schema, which rejects "+strings.Join(onlyEmbedded, ", "))
	}
	d.set(CheckSchema, Warn, msg, strings.Join(hints, "; "), details)
}

// schemaInfo is what doctor reports of a schema document.
type schemaInfo struct {
	draft   string
	version string
	fields  []string // top-level properties, sorted
}

var draftRE = regexp.MustCompile(`draft[/-]?(\d{4}-\d{2}|\d+)`)

// describeSchema reads a schema document's draft, version and top-level
// properties, including those of its top-level allOf, anyOf and oneOf
// branches and of a local $ref.
func describeSchema(doc []byte) schemaInfo {
	var m map[string]any
	_ = json.Unmarshal(doc, &m) // it compiled
	var info schemaInfo
	switch s, _ := m["$schema"].(string); {
	case s == "":
		info.draft = "no $schema (read as draft 2020-12)"
	case draftRE.MatchString(s):
		v := draftRE.FindStringSubmatch(s)[1]
		if strings.Contains(v, "-") {
			info.draft = "draft " + v
		} else {
			info.draft = "draft-" + v
		}
	default:
		info.draft = "$schema " + shorten(s, 80)
	}
	if v, ok := m["version"]; ok {
		info.version = shorten(fmt.Sprint(v), 40)
	}
	seen := map[string]bool{}
	var add func(node map[string]any, depth int)
	add = func(node map[string]any, depth int) {
		if node == nil || depth > 3 {
			return
		}
		props, _ := node["properties"].(map[string]any)
		for k := range props {
			seen[k] = true
		}
		for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
			branches, _ := node[kw].([]any)
			for _, b := range branches {
				bm, _ := b.(map[string]any)
				add(bm, depth+1)
			}
		}
		if ref, ok := node["$ref"].(string); ok {
			add(localRef(m, ref), depth+1)
		}
	}
	add(m, 0)
	for k := range seen {
		info.fields = append(info.fields, k)
	}
	slices.Sort(info.fields)
	return info
}

// localRef resolves "#/$defs/x" or "#/definitions/x" in doc.
func localRef(doc map[string]any, ref string) map[string]any {
	for _, prefix := range []string{"#/$defs/", "#/definitions/"} {
		if name, ok := strings.CutPrefix(ref, prefix); ok {
			defs, _ := doc[strings.TrimSuffix(strings.TrimPrefix(prefix, "#/"), "/")].(map[string]any)
			node, _ := defs[name].(map[string]any)
			return node
		}
	}
	return nil
}

// difference returns the elements of a not in b, sorted.
func difference(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// checkValidate sends the minimal spec to the validate endpoint, through the
// client method the action uses.
func (d *doctor) checkValidate(ctx context.Context) {
	var (
		res *miosa.ValidateResult
		err error
	)
	d.retried(ctx, func() error {
		res, err = d.client.Validate(ctx, minimalSpec())
		return err
	})
	var e *miosa.Error
	errors.As(err, &e)
	switch {
	case err == nil:
		d.answered(res.RequestID)
	case e != nil && e.Status != 0:
		d.answered(e.RequestID)
	}
	spec, _ := json.Marshal(minimalSpec())
	switch {
	case err == nil && res.Valid:
		msg := "present: it accepted a minimal spec " + string(spec)
		if len(res.BuildSpec) > 0 {
			msg += fmt.Sprintf(" and returned it normalized (%s)", plural(len(res.BuildSpec), "field"))
		} else {
			msg += " without returning it normalized"
		}
		d.set(CheckValidate, OK, msg, "", map[string]any{"present": true, "valid": true, "normalized_fields": len(res.BuildSpec)})
	case err == nil:
		var problems []string
		for _, fe := range res.Errors {
			problems = append(problems, fe.String())
		}
		d.set(CheckValidate, Warn, fmt.Sprintf("present, but it rejected the minimal spec %s: %s", spec, shorten(strings.Join(problems, "; "), 200)),
			"the server wants more than the embedded schema does; its verdicts become errors on the files' lines",
			map[string]any{"present": true, "valid": false})
	case e != nil && absent(e.Status):
		d.set(CheckValidate, Warn, fmt.Sprintf("no validate endpoint (%d): the action validates by create; all-validation-before-first-write does not hold", e.Status),
			"a spec the server rejects fails at its create or build, after other templates may have been written",
			map[string]any{"present": false, "status": e.Status})
	case e != nil && e.Status != 0:
		d.set(CheckValidate, Warn, fmt.Sprintf("the validate endpoint answered HTTP %d%s", e.Status, says(e)),
			"runs that create or build stop before their first write while it answers so",
			map[string]any{"present": true, "status": e.Status})
	default:
		kind, detail := d.client.ConnFailure(err)
		d.set(CheckValidate, Warn, fmt.Sprintf("no answer from the validate endpoint (%s: %s)", cmp.Or(kind, "interrupted"), detail),
			"runs that create or build stop before their first write while it does not answer", nil)
	}
}

// checkRateLimit reports the rate-limit headers and any 429.
func (d *doctor) checkRateLimit() {
	var shown []string
	for _, name := range rateLimitHeaders {
		if v, ok := d.rate[name]; ok {
			shown = append(shown, name+" "+v)
		}
	}
	details := map[string]any{"headers": d.rate, "rate_limited": d.limited}
	if d.rate == nil {
		details["headers"] = map[string]string{}
	}
	const adapts = "the action does not read them: it slows down when the server answers 429"
	switch {
	case d.limited:
		d.set(CheckRateLimit, Warn, "the server answered 429 (rate limited) to doctor's few requests",
			"the limit is low or shared with other clients: runs wait for it, and a run with many templates takes longer", details)
	case len(shown) == 0:
		d.set(CheckRateLimit, OK, "no rate-limit headers", "the action learns the server's limit from 429 answers and slows down", details)
	case d.rate["X-RateLimit-Remaining"] == "0" || d.rate["RateLimit-Remaining"] == "0":
		d.set(CheckRateLimit, Warn, strings.Join(shown, ", "), "no requests left until the reset: a run now waits for it", details)
	default:
		d.set(CheckRateLimit, OK, strings.Join(shown, ", "), adapts, details)
	}
}

// clockSlack is the skew the Date header's whole seconds and the round trip
// can show although both clocks agree.
const clockSlack = 2 * time.Second

// checkClock reports the server's clock skew from the first Date header.
func (d *doctor) checkClock() {
	if !d.skewKnown {
		d.set(CheckClock, OK, "no Date header: the skew is not known", "the action does not need it", nil)
		return
	}
	details := map[string]any{"skew_seconds": d.skew.Round(100 * time.Millisecond).Seconds()}
	abs, dir := d.skew, "ahead of"
	if abs < 0 {
		abs, dir = -abs, "behind"
	}
	switch {
	case abs <= clockSlack:
		d.set(CheckClock, OK, "the server's clock agrees with this machine's within 2 seconds (Date header)", "", details)
	case abs < time.Minute:
		d.set(CheckClock, OK, fmt.Sprintf("the server's clock is %s %s this machine's (Date header)", about(abs), dir), "", details)
	default:
		d.set(CheckClock, Warn, fmt.Sprintf("the server's clock is %s %s this machine's (Date header)", about(abs), dir),
			"times the server reports (build times) are off by that much against this machine's and commit times; check this machine's clock (NTP)", details)
	}
}

// about renders a duration roughly: "12 seconds", "about 10 minutes".
func about(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("about %d days", d/(24*time.Hour))
	case d >= 2*time.Hour:
		return fmt.Sprintf("about %d hours", d/time.Hour)
	case d >= 2*time.Minute:
		return fmt.Sprintf("about %d minutes", (d+30*time.Second)/time.Minute)
	}
	return fmt.Sprintf("%d seconds", (d+500*time.Millisecond)/time.Second)
}

// checkRequestID reports how many answers carried X-Request-ID.
func (d *doctor) checkRequestID() {
	details := map[string]any{"answers": d.answers, "with_request_id": d.withID}
	switch d.withID {
	case d.answers:
		d.set(CheckRequestID, OK, fmt.Sprintf("every answer carries X-Request-ID (%d of %d)", d.withID, d.answers), "", details)
	case 0:
		d.set(CheckRequestID, Warn, fmt.Sprintf("no answer carries X-Request-ID (0 of %d)", d.answers),
			"the action's error messages cannot name the request for Miosa's support", details)
	default:
		d.set(CheckRequestID, Warn, fmt.Sprintf("%d of %d answers carry X-Request-ID", d.withID, d.answers),
			"some of the action's error messages cannot name the request for Miosa's support", details)
	}
}

// isHTML reports an answer that is a web page.
func isHTML(pr *miosa.ProbeResponse) bool {
	if strings.Contains(strings.ToLower(pr.Header.Get("Content-Type")), "text/html") {
		return true
	}
	b := bytes.ToLower(bytes.TrimSpace(pr.Body))
	return bytes.HasPrefix(b, []byte("<!doctype html")) || bytes.HasPrefix(b, []byte("<html"))
}

// isJSON reports a body that is one JSON value.
func isJSON(body []byte) bool { return json.Valid(body) }

// plural renders "1 row" or "2 rows".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// report puts the checks in order, marks the missing ones skipped and sums
// up.
func (d *doctor) report(base string) *Report {
	r := &Report{APIURL: miosa.DisplayURL(base), OK: true}
	for _, name := range order {
		c, ok := d.checks[name]
		if !ok {
			c = Check{Name: name, Status: Skip, Message: "not checked: " + cmp.Or(d.skip, "an earlier check failed")}
		}
		switch c.Status {
		case Fail:
			r.OK = false
		case Warn:
			r.Warnings++
		}
		r.Checks = append(r.Checks, c)
	}
	switch {
	case !r.OK:
		r.Summary = "The action cannot work with this server and key: fix the failed checks."
	case r.Warnings > 0:
		r.Summary = fmt.Sprintf("The action can work with this server and key, with %s: see what each means above.", plural(r.Warnings, "warning"))
	default:
		r.Summary = "The action can work with this server and key."
	}
	return r
}
