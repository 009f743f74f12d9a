package schema

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
)

// typeHint says, after a "must be X, found Y" message, what the usual
// mistake behind it is, or "":
//   - a number in quotes where a number is wanted (previewPort: "8080");
//   - a string where the schema wants a mapping with one required key, as
//     steps want {run: ...}: a step written as a bare command (- npm ci),
//     without the space after the colon (- run:npm ci), or quoted whole
//     (- "run: npm ci"). The hint shows the shape the schema wants.
//
// sch is the schema whose type failed (nil when unknown); field is the
// value's field path, which ends in "]" for a list item.
func typeHint(want []string, value any, sch *jsonschema.Schema, field string) string {
	s, ok := value.(string)
	if !ok {
		return ""
	}
	switch {
	case slices.Contains(want, "integer") && isInteger(s), slices.Contains(want, "number") && isNumber(s):
		return "; remove the quotes to make it a number"
	case slices.Contains(want, "object") && sch != nil && len(sch.Required) == 1:
		key := sch.Required[0]
		item := ""
		if strings.HasSuffix(field, "]") {
			item = "- "
		}
		shape := item + key + ": " + strings.TrimSpace(s)
		if k, rest, ok := strings.Cut(s, ":"); ok && k == key {
			rest = strings.TrimSpace(rest)
			shape = item + key + ": " + rest
			if !strings.HasPrefix(strings.TrimPrefix(s, k+":"), " ") {
				return "; without a space after the colon YAML reads it as one string: write " + diag.Quote(shape)
			}
			return "; the quotes make it one string: write " + diag.Quote(shape)
		}
		return "; write it as " + diag.Quote(shape)
	}
	return ""
}

var (
	integerText = regexp.MustCompile(`^\s*[-+]?[0-9]+\s*$`)
	numberText  = regexp.MustCompile(`^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$`)
)

// isInteger reports a string that holds a whole number, such as "8080".
func isInteger(s string) bool {
	if !integerText.MatchString(s) {
		return false
	}
	_, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return err == nil
}

// isNumber reports a string that holds a number, such as "1.5".
func isNumber(s string) bool { return numberText.MatchString(s) }
