package miosa

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/miosa-dev/sandbox-templates-action/internal/netfail"
)

// ProbeResponse is one raw answer of the server, for diagnosing it (the
// doctor command) and for recording the shapes of its answers. The key, and
// any 8-character run of it, is redacted from its header values and body.
type ProbeResponse struct {
	Status    int
	Header    http.Header
	Body      []byte // at most MaxBodySize bytes
	RequestID string // cleaned X-Request-ID
}

// Probe sends one request once, as the other methods send theirs (the key,
// the headers, no redirects followed, at most MaxBodySize read) but without
// retries or rate limiting. path is relative to the base URL and starts
// with "/"; body, when not nil, is sent as JSON.
//
// It returns the answer whatever its status. For a status outside 2xx it
// also returns the *Error the other methods would return. With no answer it
// returns only the *Error; ConnFailure tells why.
func (c *Client) Probe(ctx context.Context, method, path string, body []byte) (*ProbeResponse, error) {
	cl := call{method: method, path: path, body: body}
	req, err := c.newRequest(ctx, cl)
	if err != nil {
		return nil, &Error{Method: method, Path: path, Err: err}
	}
	res, err := c.send(req, nil)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, &Error{Method: method, Path: path, Attempts: 1, Err: ctxErr}
	}
	var pr *ProbeResponse
	if err == nil {
		header := make(http.Header, len(res.header))
		for k, vs := range res.header {
			for _, v := range vs {
				header.Add(k, c.key.redact(v))
			}
		}
		pr = &ProbeResponse{Status: res.status, Header: header, Body: []byte(c.key.redact(string(res.body))), RequestID: res.requestID}
		if cl.accepts(res) {
			return pr, nil
		}
	}
	e, _ := c.failure(&cl, &policy{}, res, err)
	e.Attempts = 1
	return pr, e
}

// Rows decodes the answer as ListTemplates decodes the list.
func (r *ProbeResponse) Rows() ([]ListRow, error) { return decodeList(r.Body) }

// Paging says how the answer, one page of a list, announces the next one,
// as the list methods read it: "page" (a page object: page, page_size and
// total, or total_pages, or has_more), "next" (a next link in the body),
// "link" (a Link header with rel="next"), or "" when it announces none.
// total is the rows of the whole list when the answer says (-1 when not),
// and keys are the envelope's members that said it.
func (r *ProbeResponse) Paging() (form string, total int64, keys []string) {
	pb, err := readPage(bytes.NewReader(r.Body), templateRowKeys, 0, func(obj) error { return nil })
	if err != nil {
		pb = pageBody{total: -1}
	}
	switch {
	case nextLink(r.Header.Values("Link")) != "":
		form = "link"
	case pb.next != "":
		form = "next"
	case pb.hasMore || pb.totalPages > 0 || pb.total >= 0:
		form = "page"
	}
	return form, pb.total, pb.keys
}

// SchemaDocument decodes the answer as BuildSpecSchema decodes the schema.
func (r *ProbeResponse) SchemaDocument() ([]byte, error) { return decodeSchema(r.Body) }

// Kinds of connection failure that ConnFailure names.
const (
	FailureDNS     = "dns"     // the host name does not resolve
	FailureRefused = "refused" // nothing accepts connections at the host and port
	FailureTLS     = "tls"     // the TLS handshake or the certificate check failed
	FailureTimeout = "timeout" // no answer in time
	FailureNetwork = "network" // any other failure to get an answer
)

// ConnFailure tells why a request got no HTTP answer: one of the Failure
// kinds, and the cause's text (without the request's method and URL, with
// the key redacted). It returns "" for an error that carries an HTTP status
// and for a cancelled context.
func (c *Client) ConnFailure(err error) (kind, detail string) {
	e, ok := asError(err)
	if !ok || e.Status != 0 || e.Err == nil || errors.Is(err, context.Canceled) {
		return "", ""
	}
	cause := e.Err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	detail = c.key.clean(cause.Error())
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		return FailureDNS, detail
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailureRefused, detail
	case netfail.IsTLS(err):
		return FailureTLS, detail
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return FailureTimeout, detail
	}
	return FailureNetwork, detail
}
