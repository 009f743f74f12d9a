package miosa_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// reviewRows renders rows from to to-1 of a list as a JSON array.
func reviewRows(from, to int) string {
	var parts []string
	for i := from; i < to; i++ {
		parts = append(parts, fmt.Sprintf(`{"id":"r%03d","name":"r%03d"}`, i, i))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// checkRows fails unless rows are r000 to r(n-1), once each, in order.
func checkRows(t *testing.T, ids []string, n int) {
	t.Helper()
	if len(ids) != n {
		t.Fatalf("%d rows, want %d: %v", len(ids), n, ids)
	}
	for i, id := range ids {
		if want := fmt.Sprintf("r%03d", i); id != want {
			t.Fatalf("row %d is %s, want %s", i, id, want)
		}
	}
}

// pageParams reads page (1 when absent) and page_size (100 when absent).
func pageParams(r *http.Request) (int, int) {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || p < 1 {
		p = 1
	}
	s, err := strconv.Atoi(r.URL.Query().Get("page_size"))
	if err != nil || s < 1 {
		s = 100
	}
	return p, s
}

// TestListReviewServerSizes: a server that ignores page_size and serves
// pages of its own size reads whole, whatever its page object says of
// the size: its own (20), nothing, or the size asked for (100).
func TestListReviewServerSizes(t *testing.T) {
	t.Parallel()
	const total, own = 250, 20
	for _, says := range []string{"its size", "nothing", "the size asked for"} {
		t.Run(says, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				p, asked := pageParams(r)
				from, to := min((p-1)*own, total), min(p*own, total)
				meta := fmt.Sprintf(`"page":%d,"total":%d`, p, total)
				switch says {
				case "its size":
					meta += fmt.Sprintf(`,"page_size":%d`, own)
				case "the size asked for":
					meta += fmt.Sprintf(`,"page_size":%d`, asked)
				}
				page(w, nil, `{"data":`+reviewRows(from, to)+`,"page":{`+meta+`}}`)
			})
			c, _, _ := newClient(t, srv, nil)
			got, err := c.ListTemplates(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			checkRows(t, ids, total)
			if n := srv.count(); n != total/own+1 {
				t.Errorf("%d requests, want %d", n, total/own+1)
			}
		})
	}
}

// TestListReviewTotalMoves: a total that grows between pages is followed
// to its new end; one that shrinks ends the list where it says.
func TestListReviewTotalMoves(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		totals []int // the total each page says
		want   int
	}{
		{"grows", []int{150, 250, 250}, 250},
		{"shrinks", []int{250, 180}, 180},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				p, size := pageParams(r)
				total := tt.totals[min(n, len(tt.totals)-1)]
				from, to := min((p-1)*size, total), min(p*size, total)
				page(w, nil, fmt.Sprintf(`{"data":%s,"page":{"page":%d,"page_size":%d,"total":%d}}`, reviewRows(from, to), p, size, total))
			})
			c, _, _ := newClient(t, srv, nil)
			got, err := c.ListTemplates(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			checkRows(t, ids, tt.want)
		})
	}
}

// TestListReviewRelativeLinks: a Link header's target relative to the
// page (a query alone, a path relative to the list, a path from the
// host's root) is followed to the API's own pages.
func TestListReviewRelativeLinks(t *testing.T) {
	t.Parallel()
	for _, link := range []string{"?page=%d", "sandbox-templates?page=%d", "/api/v1/sandbox-templates?page=%d", "./sandbox-templates?page=%d"} {
		t.Run(link, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if r.URL.Path != "/api/v1/sandbox-templates" {
					page(w, nil, `[]`)
					return
				}
				p, _ := pageParams(r)
				h := map[string]string{}
				if p < 3 {
					h["Link"] = "<" + fmt.Sprintf(link, p+1) + `>; rel="next"`
				}
				page(w, h, reviewRows((p-1)*10, p*10))
			})
			c, _, _ := newClient(t, srv, nil)
			got, err := c.ListTemplates(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			checkRows(t, ids, 30)
		})
	}
}

// TestListReviewServerErrorMidList: a 5xx answer to a later page is
// retried, and every row comes once, in order.
func TestListReviewServerErrorMidList(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					reply{status: status, body: `{"error":{"code":"INTERNAL","message":"try again"}}`}.write(w)
					return
				}
				p, size := pageParams(r)
				page(w, nil, fmt.Sprintf(`{"data":%s,"page":{"page":%d,"page_size":%d,"total":250}}`, reviewRows(min((p-1)*size, 250), min(p*size, 250)), p, size))
			})
			c, _, _ := newClient(t, srv, nil)
			got, err := c.ListTemplates(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			checkRows(t, ids, 250)
			if n := srv.count(); n != 4 {
				t.Errorf("%d requests, want 4 (3 pages, one retried)", n)
			}
		})
	}
}

// TestListReviewNextLinkQueryOrder: a next link that names a page already
// read with its query in another order is the same page: the loop is
// found before any row comes twice.
func TestListReviewNextLinkQueryOrder(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		p, _ := pageParams(r)
		next := "/api/v1/sandbox-templates?page=2&page_size=100"
		if p == 2 {
			next = "/api/v1/sandbox-templates?page_size=100&page=2"
		}
		page(w, nil, `{"data":`+reviewRows((p-1)*100, p*100)+`,"next":"`+next+`"}`)
	})
	c, _, _ := newClient(t, srv, nil)
	_, err := c.ListTemplates(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "already read") {
		t.Errorf("err = %v, want the loop found", err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("%d requests, want 2: page 2 is not read twice", n)
	}
}

// TestListReviewDropMidLaterPage: a later page cut off mid-body is asked
// for again; the rows its first attempt handed on come once.
func TestListReviewDropMidLaterPage(t *testing.T) {
	t.Parallel()
	body := func(p int) string {
		return fmt.Sprintf(`{"data":%s,"page":{"page":%d,"page_size":100,"total":250}}`, reviewRows(min((p-1)*100, 250), min(p*100, 250)), p)
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		p, _ := pageParams(r)
		if n == 1 {
			b := body(p)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(200)
			_, _ = w.Write([]byte(b[:len(b)/2]))
			panic(http.ErrAbortHandler)
		}
		page(w, nil, body(p))
	})
	c, _, _ := newClient(t, srv, nil)
	got, err := c.ListTemplates(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	checkRows(t, ids, 250)
	if n := srv.count(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}
