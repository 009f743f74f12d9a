package emulator

import (
	"net/http"
	"net/url"
	"strconv"
)

// Pagination of the list endpoints, as the API reference describes it:
// every list takes page (default 1) and page_size (default 20, at most
// 100) and answers {"data": [...], "page": {"page", "page_size",
// "total"}}. Where the reference is silent the emulator is strict: a page
// or page_size that is not a positive integer is 422 VALIDATION_FAILED, a
// page_size above the maximum is served as the maximum (the answer says
// so), and a page past the end is empty.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// List forms, the values of Variant.List and Variant.ListBuilds. The paged
// ones serve one page per request; the others the whole list at once.
const (
	listPage      = "page"      // {"data": [...], "page": {page, page_size, total}} (the default)
	listNext      = "next"      // {"data": [...], "next": URL or null}
	listLink      = "link"      // a bare array, and a Link header with rel="next"
	listBare      = "bare"      // a bare array of every row
	listData      = "data"      // {"data": [every row]}
	listDefault   = "default"   // {"default_template_id": ..., "data": [every row]} (templates)
	listTemplates = "templates" // {"templates": [every row]} (templates)
)

// paged reports whether a list form serves pages.
func paged(form string) bool {
	return form == "" || form == listPage || form == listNext || form == listLink
}

// pageRequest is the page a list request asks for.
type pageRequest struct {
	page, size int
}

// pageOf reads page and page_size; on a bad value it writes the 422 and
// reports false.
func (s *Server) pageOf(w *recorder, c *call) (pageRequest, bool) {
	pr := pageRequest{page: 1, size: defaultPageSize}
	q := c.r.URL.Query()
	for _, p := range []struct {
		name string
		to   *int
	}{{"page", &pr.page}, {"page_size", &pr.size}} {
		v, ok := q[p.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 {
			s.validationFailed(w, c, p.name, "must be a positive integer")
			return pr, false
		}
		*p.to = n
	}
	pr.size = min(pr.size, maxPageSize)
	return pr, true
}

// writeList answers a list request with rows in the given form: for a
// paged form, the requested page of n rows, rendered by row(i); otherwise
// all of them. wrap, when set, makes the whole-list body of the forms
// other than bare.
func (s *Server) writeList(w *recorder, c *call, form string, n int, row func(i int) any, wrap func(rows []any) any) {
	if !paged(form) {
		rows := make([]any, n)
		for i := range n {
			rows[i] = row(i)
		}
		if form == listBare || wrap == nil {
			writeJSON(w, http.StatusOK, rows)
			return
		}
		writeJSON(w, http.StatusOK, wrap(rows))
		return
	}
	pr, ok := s.pageOf(w, c)
	if !ok {
		return
	}
	from := n
	if pr.page-1 <= n/pr.size { // no overflow on a huge page number
		from = min(n, (pr.page-1)*pr.size)
	}
	to := min(n, from+pr.size)
	rows := make([]any, 0, to-from)
	for i := from; i < to; i++ {
		rows = append(rows, row(i))
	}
	var next any // null on the last page
	if to < n {
		next = nextPageURL(c.r, pr.page+1, pr.size)
	}
	switch form {
	case listNext:
		writeJSON(w, http.StatusOK, map[string]any{"data": rows, "next": next})
	case listLink:
		if next != nil {
			w.header.Set("Link", "<"+next.(string)+`>; rel="next"`)
		}
		writeJSON(w, http.StatusOK, rows)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"data": rows,
			"page": map[string]any{"page": pr.page, "page_size": pr.size, "total": n}})
	}
}

// nextPageURL is the absolute URL of another page of the list r asked for,
// with r's other query parameters.
func nextPageURL(r *http.Request, page, size int) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	q.Set("page_size", strconv.Itoa(size))
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}
