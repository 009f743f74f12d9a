package miosa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Lists are read as streams, page by page (see readPage), and follow the
// pages a server announces, in any of three forms:
//
//   - the API reference's page object: {"data": [...], "page": {"page",
//     "page_size", "total"}} (also total_pages or has_more, and the same
//     members under "meta" or "pagination" or at the top level): the next
//     page is asked for with page and page_size while page * page_size is
//     below the total;
//   - a next link in the body: "next" (or next_url, next_page_url,
//     links.next), absolute or relative to the page;
//   - a Link header with rel="next" (RFC 8288).
//
// A list that announces none of them is read as one page. The first page
// asks for PageSize rows, the largest page the API reference allows.
const (
	// PageSize is the page size the client asks for.
	PageSize = 100
	// MaxListRows bounds the rows of one list, over all its pages, and the
	// total a server may announce: far above any real account.
	MaxListRows = 100_000
	// MaxRowSize bounds one row of a list, and each other member of a
	// list's envelope: as large as a single object may be.
	MaxRowSize = MaxBodySize
)

// Sentinel causes of a list the client refuses to read on.
var (
	// ErrListTooLong: a list holds, or announces, more than MaxListRows rows.
	ErrListTooLong = fmt.Errorf("list longer than %d rows, far above any real account", MaxListRows)
	// ErrPageLoop: a list's next page is one the client has read already.
	ErrPageLoop = errors.New("the server's next page is one already read")
	// ErrForeignPage: a list's next link leads away from the API's base URL,
	// where the key may not go.
	ErrForeignPage = errors.New("the server's next page is not under the API's base URL")
)

// listed is what a whole list said besides its rows.
type listed struct {
	defaultID string
	pages     int
}

// eachRow reads the list at path (relative to the base URL, with or without
// a query) page by page and calls fn for each row, in the server's order.
// fn returns errStop to end the reading there, with no more pages asked
// for; any other error ends it with that error.
func (c *Client) eachRow(ctx context.Context, path string, rowKeys []string, fn func(obj) error) (listed, error) {
	var out listed
	reqPath, err := withPage(path, 0, PageSize)
	if err != nil {
		return out, &Error{Method: http.MethodGet, Path: path, Err: err}
	}
	seen := map[string]bool{} // by samePage
	rows := 0
	for page := int64(1); ; page++ {
		seen[samePage(reqPath)] = true
		var (
			pb        pageBody
			delivered int // rows of this page handed to fn, by this attempt or an earlier one
		)
		stream := func(r *bodyReader) error {
			var err error
			pb, err = readPage(r, rowKeys, delivered, func(o obj) error {
				if rows >= MaxListRows {
					return ErrListTooLong
				}
				delivered++
				rows++
				return fn(o)
			})
			return err
		}
		res, err := c.do(ctx, call{method: http.MethodGet, path: reqPath, stream: stream})
		if err != nil {
			return out, err
		}
		out.pages++
		if pb.defaultID != "" {
			out.defaultID = pb.defaultID
		}
		switch {
		case errors.Is(res.streamErr, errStop):
			return out, nil
		case errors.Is(res.streamErr, ErrListTooLong):
			return out, &Error{Method: http.MethodGet, Path: reqPath, Status: res.status, RequestID: res.requestID, Err: ErrListTooLong}
		case res.streamErr != nil:
			return out, c.decodeError(http.MethodGet, reqPath, res, malformed(res.streamErr))
		case pb.total > MaxListRows:
			return out, &Error{Method: http.MethodGet, Path: reqPath, Status: res.status, RequestID: res.requestID,
				Err: fmt.Errorf("%w: the server announces %d", ErrListTooLong, pb.total)}
		}
		next, err := c.nextPage(path, reqPath, page, res, pb)
		if err != nil {
			return out, &Error{Method: http.MethodGet, Path: reqPath, Status: res.status, RequestID: res.requestID, Err: err}
		}
		if next == "" || pb.rows == 0 {
			return out, nil
		}
		if seen[samePage(next)] {
			return out, &Error{Method: http.MethodGet, Path: reqPath, Status: res.status, RequestID: res.requestID,
				Err: fmt.Errorf("%w (%s)", ErrPageLoop, next)}
		}
		reqPath = next
	}
}

// samePage is a page's path with its query in one order: a next link that
// names a page already read with its parameters in another order is that
// page.
func samePage(reqPath string) string {
	p, q, ok := strings.Cut(reqPath, "?")
	vals, err := url.ParseQuery(q)
	if !ok || err != nil {
		return reqPath
	}
	return p + "?" + vals.Encode()
}

// malformed marks a decoding failure as a malformed response, unless it
// already says what is wrong.
func malformed(err error) error {
	if errors.Is(err, ErrMalformedResponse) || errors.Is(err, ErrResponseTooLarge) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrMalformedResponse, err)
}

// nextPage is the path of the page after the one read at reqPath (the
// page-th of the list at path), relative to the base URL; "" when the
// page was the last. A Link header comes first, then a next link in the
// body, then the page object.
func (c *Client) nextPage(path, reqPath string, page int64, res *response, pb pageBody) (string, error) {
	if link := nextLink(res.header.Values("Link")); link != "" {
		return c.relative(reqPath, link)
	}
	if pb.next != "" {
		return c.relative(reqPath, pb.next)
	}
	if pb.page > 0 {
		page = pb.page
	}
	// Without a page_size in the answer, the size is the one asked for.
	// A first page that holds fewer rows than that size (the answer's
	// or the one asked for) shows the server's size: it did not grant the
	// size, whatever its answer says, and its rows are its size (on the
	// last page too, where the total then ends the list).
	size := pb.pageSize
	_, q, _ := strings.Cut(reqPath, "?")
	vals, _ := url.ParseQuery(q)
	if size <= 0 {
		size, _ = strconv.ParseInt(vals.Get("page_size"), 10, 64)
	}
	if !vals.Has("page") && pb.rows > 0 && int64(pb.rows) < size {
		size = int64(pb.rows)
	}
	more := pb.hasMore ||
		(pb.totalPages > 0 && page < pb.totalPages) ||
		(pb.total >= 0 && size > 0 && page*size < pb.total)
	if !more {
		return "", nil
	}
	return withPage(path, page+1, size)
}

// withPage adds page (unless 0) and page_size to the query of path.
func withPage(path string, page, size int64) (string, error) {
	p, q, _ := strings.Cut(path, "?")
	vals, err := url.ParseQuery(q)
	if err != nil {
		return "", fmt.Errorf("list query: %w", err)
	}
	if page > 0 {
		vals.Set("page", strconv.FormatInt(page, 10))
	}
	vals.Set("page_size", strconv.FormatInt(size, 10))
	return p + "?" + vals.Encode(), nil
}

// relative turns a next link, absolute or relative to the page read at
// reqPath, into a path relative to the base URL. A link to another origin,
// or outside the base URL's path, is refused: the key goes only there.
func (c *Client) relative(reqPath, link string) (string, error) {
	cur, err := url.Parse(c.base + reqPath)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(strings.TrimSpace(link))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	u := cur.ResolveReference(ref)
	base, err := url.Parse(c.base)
	if err != nil {
		return "", err
	}
	basePath := strings.TrimRight(base.EscapedPath(), "/")
	p := u.EscapedPath()
	if u.User != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) ||
		!strings.HasPrefix(p, basePath+"/") {
		return "", fmt.Errorf("%w: %s", ErrForeignPage, DisplayURL(u.String()))
	}
	rel := strings.TrimPrefix(p, basePath)
	if u.RawQuery != "" {
		rel += "?" + u.RawQuery
	}
	return rel, nil
}

// nextLink finds the target of rel="next" in Link header values
// (RFC 8288): `<https://...?page=2>; rel="next", <...>; rel="last"`.
func nextLink(values []string) string {
	for _, v := range values {
		for _, part := range splitLinks(v) {
			target, params, ok := strings.Cut(part, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if !strings.EqualFold(strings.TrimSpace(name), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target[1 : len(target)-1]
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header value at the commas between links, not
// those inside a <target> or a quoted parameter.
func splitLinks(v string) []string {
	var out []string
	inURL, inQuote, start := false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '<' && !inQuote:
			inURL = true
		case c == '>' && !inQuote:
			inURL = false
		case c == '"' && !inURL:
			inQuote = !inQuote
		case c == ',' && !inURL && !inQuote:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}
