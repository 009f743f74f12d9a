package miosa

import (
	"context"
	"net/http"
)

// DeleteTemplate deletes a template with DELETE /sandbox-templates/{templateID}.
// The server answers 204, or 409 TEMPLATE_IN_USE while sandboxes or an
// active build depend on it (IsConflict tells). The action never deletes:
// only the opt-in live contract test calls this, on the throwaway template
// it made. A DELETE carries no Idempotency-Key, so the retry policy resends
// it only when the server cannot have processed it (a 429, or a connection
// that could not be opened).
func (c *Client) DeleteTemplate(ctx context.Context, templateID string) error {
	seg, err := segment("template id", templateID)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, call{method: http.MethodDelete, path: "/sandbox-templates/" + seg})
	return err
}
