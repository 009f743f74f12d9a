package miosa

import (
	"net/http"
	"strings"
)

// IsMissingEndpoint reports an answer that says the endpoint does not exist
// on this server (404 without a template's error code, 405 or 501): a
// deployment without POST /sandbox-templates/validate or GET
// /sandbox-templates/build-spec.
func IsMissingEndpoint(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	switch e.Status {
	case http.StatusNotFound:
		return e.Code != CodeTemplateNotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	}
	return false
}

// IsTemplateGone reports that the template named in the request does not
// exist (any more): 404 TEMPLATE_NOT_FOUND, or a plain 404 from a
// template's own path.
func IsTemplateGone(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == http.StatusNotFound && (e.Code == CodeTemplateNotFound || e.Code == "" || e.Code == "NOT_FOUND")
}

// IsCollision reports a create answered because a template with the name
// exists: 422 with a slug (or, from servers before a fix, tenant_id or
// name) "already exists" / "has already been taken".
func IsCollision(err error) bool {
	e, ok := asError(err)
	if !ok || e.Status != http.StatusUnprocessableEntity {
		return false
	}
	for _, f := range e.Fields {
		m := strings.ToLower(f.Message)
		switch strings.ToLower(f.Field) {
		case "slug", "name", "tenant_id":
			if strings.Contains(m, "already exists") || strings.Contains(m, "already been taken") {
				return true
			}
		}
	}
	return false
}

// Rejection is a write's 422 about what was sent, other than a collision:
// the problems with the build spec, and the other fields' problems. ok is
// false for any other error.
func Rejection(err error) (specErrs, other []FieldError, ok bool) {
	e, isErr := asError(err)
	if !isErr || e.Status != http.StatusUnprocessableEntity || IsCollision(err) {
		return nil, nil, false
	}
	for _, f := range e.Fields {
		if e.Code == CodeInvalidBuildSpec || strings.HasPrefix(strings.ToLower(f.Field), "build_spec") {
			specErrs = append(specErrs, f)
		} else {
			other = append(other, f)
		}
	}
	if len(specErrs) == 0 && len(other) == 0 && e.Code != CodeInvalidBuildSpec {
		return nil, nil, false
	}
	return specErrs, other, true
}
