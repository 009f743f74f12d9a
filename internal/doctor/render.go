package doctor

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Text renders the report: one line per check (status, name, what was
// found; what to do), then the summary. Every line is safe to print in a
// GitHub Actions log.
func (r *Report) Text() string {
	var b strings.Builder
	for _, c := range r.Checks {
		line := c.Message
		if c.Hint != "" {
			line += "; " + c.Hint
		}
		b.WriteString(textsafe.LogLine(fmt.Sprintf("%-5s %-10s %s", c.Status, c.Name, line)))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(r.Summary)
	b.WriteByte('\n')
	return b.String()
}

// JSON renders the report as one indented JSON object.
func (r *Report) JSON() []byte {
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		panic("doctor: marshal report: " + err.Error()) // a Report holds only JSON values
	}
	return append(out, '\n')
}
