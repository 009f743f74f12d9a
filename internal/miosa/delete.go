package miosa

import (
	"context"
	"net/http"
	"strings"
)

// CodeTemplateInUse is the code of a delete the server refuses while
// sandboxes or an active build depend on the template.
const CodeTemplateInUse = "TEMPLATE_IN_USE"

// DeleteTemplate deletes a template with DELETE /sandbox-templates/{templateID}.
// The server answers 204, or 409 TEMPLATE_IN_USE while sandboxes or an
// active build depend on it (IsTemplateInUse tells). The action deletes
// only preview templates of pull requests that carry its repository's mark
// (package preview decides), and the opt-in live contract test only the
// throwaway template it made. A DELETE carries no Idempotency-Key, so the
// retry policy resends it only when the server cannot have processed it (a
// 429, or a connection that could not be opened).
func (c *Client) DeleteTemplate(ctx context.Context, templateID string) error {
	seg, err := segment("template id", templateID)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, call{method: http.MethodDelete, path: "/sandbox-templates/" + seg})
	return err
}

// IsTemplateInUse reports a delete refused because sandboxes or an active
// build depend on the template: 409 TEMPLATE_IN_USE, or a 409 without a
// code whose message says "in use" (an older flat body). A 409
// IDEMPOTENCY_PAYLOAD_MISMATCH is not.
func IsTemplateInUse(err error) bool {
	e, ok := asError(err)
	if !ok || e.Status != http.StatusConflict {
		return false
	}
	if e.Code != "" {
		return e.Code == CodeTemplateInUse
	}
	return strings.Contains(strings.ToLower(e.Message), "in use")
}
