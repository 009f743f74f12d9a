package miosa_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// seedTemplates makes n templates, t-00000 on, on the emulator.
func seedTemplates(t testing.TB, emu *emulator.Server, n int) {
	t.Helper()
	for i := range n {
		if _, err := emu.SeedTemplate(emulator.TemplateSeed{Name: fmt.Sprintf("t-%05d", i), BuildSpec: validSpec}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestListForms: the client reads the whole template list in every form a
// server may send it: the API reference's page object, a next link in the
// body, a Link header, and the unpaged forms (bare, data, default,
// templates), asking for pages of 100.
func TestListForms(t *testing.T) {
	t.Parallel()
	const own = 250 // 272 rows with the built-ins: 3 pages of 100
	for _, form := range []string{"page", "next", "link", "bare", "data", "default", "templates"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			emu, c, _ := startEmulator(t, func(o *emulator.Options) { o.Variant.List = form }, nil)
			seedTemplates(t, emu, own)
			rows, err := c.ListTemplates(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 22+own {
				t.Fatalf("%d rows, want %d", len(rows), 22+own)
			}
			for i := range own {
				if got, want := rows[22+i].Name, fmt.Sprintf("t-%05d", i); got != want {
					t.Fatalf("row %d is %q, want %q", 22+i, got, want)
				}
			}
			want := 3
			if form != "page" && form != "next" && form != "link" {
				want = 1
			}
			if n := emu.Counters().Requests["list"]; n != want {
				t.Errorf("%d list requests, want %d", n, want)
			}
		})
	}
}

// TestListBeyondOneMiB: an account of 5,000 templates, whose list is about
// 3 MiB in one body, is read whole, in one body or in pages (the client
// once failed at about 2,350).
func TestListBeyondOneMiB(t *testing.T) {
	t.Parallel()
	const own = 5000
	for _, form := range []string{"page", "bare"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			emu, c, _ := startEmulator(t, func(o *emulator.Options) { o.Variant.List = form }, nil)
			seedTemplates(t, emu, own)
			rows, err := c.ListTemplates(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 22+own || rows[len(rows)-1].Name != fmt.Sprintf("t-%05d", own-1) {
				t.Fatalf("%d rows, want %d ending with t-%05d", len(rows), 22+own, own-1)
			}
			want := map[string]int{"page": 51, "bare": 1}[form]
			if n := emu.Counters().Requests["list"]; n != want {
				t.Errorf("%d list requests, want %d", n, want)
			}
		})
	}
}

// TestLongBuildHistory: a template with 10,000 builds. EachBuild reads one
// page when the newest build is all the caller needs; ListBuilds reads all
// 100 pages.
func TestLongBuildHistory(t *testing.T) {
	t.Parallel()
	emu, c, _ := startEmulator(t, nil, nil)
	seedTemplates(t, emu, 1)
	for range 10_000 - 1 {
		if _, err := emu.SeedBuild("t-00000", emulator.BuildSeed{}); err != nil {
			t.Fatal(err)
		}
	}
	st := emu.State()
	ctx := context.Background()
	var newest miosa.Build
	err := c.EachBuild(ctx, st.Templates[0].ID, func(b miosa.Build) bool {
		newest = b
		return false
	})
	if err != nil || newest.ID != st.Builds[len(st.Builds)-1].ID {
		t.Fatalf("newest %q, err %v; want %s", newest.ID, err, st.Builds[len(st.Builds)-1].ID)
	}
	if n := emu.Counters().Requests["list_builds"]; n != 1 {
		t.Errorf("%d list_builds requests for the newest build, want 1", n)
	}
	all, err := c.ListBuilds(ctx, st.Templates[0].ID)
	if err != nil || len(all) != 10_000 || all[9_999].ID != st.Builds[0].ID {
		t.Fatalf("%d builds, err %v; want 10000 ending with the first", len(all), err)
	}
	if n := emu.Counters().Requests["list_builds"]; n != 1+100 {
		t.Errorf("%d list_builds requests, want 1 + 100", n)
	}
}

// page answers a scripted list page.
func page(w http.ResponseWriter, header map[string]string, body string) {
	reply{status: 200, header: header, body: body}.write(w)
}

// TestListPageForms: what each form of a paged answer makes the client ask
// for next: the page object (with or without page_size, whose absence
// means the rows of a full page are the server's size), total_pages,
// has_more, a relative or absolute next link, links.next, a Link header
// among other links.
func TestListPageForms(t *testing.T) {
	t.Parallel()
	rows := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, `{"id":"`+id+`","name":"`+id+`"}`)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	tests := []struct {
		name  string
		pages []func(base string) (map[string]string, string)
		want  []string // queries asked for
	}{
		{"page object", []func(string) (map[string]string, string){
			func(string) (map[string]string, string) {
				return nil, `{"data":` + rows("a", "b") + `,"page":{"page":1,"page_size":2,"total":3}}`
			},
			func(string) (map[string]string, string) {
				return nil, `{"page":{"page":2,"page_size":2,"total":3},"data":` + rows("c") + `}`
			},
		}, []string{"page_size=100", "page=2&page_size=2"}},
		{"total without page_size", []func(string) (map[string]string, string){
			func(string) (map[string]string, string) { return nil, `{"data":` + rows("a", "b") + `,"total":3}` },
			func(string) (map[string]string, string) { return nil, `{"data":` + rows("c") + `,"total":3}` },
		}, []string{"page_size=100", "page=2&page_size=2"}},
		{"meta total_pages", []func(string) (map[string]string, string){
			func(string) (map[string]string, string) {
				return nil, `{"data":` + rows("a", "b") + `,"meta":{"current_page":1,"per_page":2,"total_pages":2}}`
			},
			func(string) (map[string]string, string) {
				return nil, `{"data":` + rows("c") + `,"meta":{"current_page":2,"per_page":2,"total_pages":2}}`
			},
		}, []string{"page_size=100", "page=2&page_size=2"}},
		{"has_more", []func(string) (map[string]string, string){
			func(string) (map[string]string, string) {
				return nil, `{"data":` + rows("a", "b") + `,"has_more":true}`
			},
			func(string) (map[string]string, string) { return nil, `{"data":` + rows("c") + `,"has_more":false}` },
		}, []string{"page_size=100", "page=2&page_size=2"}},
		{"relative next", []func(string) (map[string]string, string){
			func(string) (map[string]string, string) {
				return nil, `{"data":` + rows("a", "b") + `,"next":"sandbox-templates?cursor=x%2By"}`
			},
			func(string) (map[string]string, string) { return nil, `{"data":` + rows("c") + `,"next":null}` },
		}, []string{"page_size=100", "cursor=x%2By"}},
		{"absolute links.next", []func(string) (map[string]string, string){
			func(base string) (map[string]string, string) {
				return nil, `{"data":` + rows("a", "b") + `,"links":{"next":"` + base + `/sandbox-templates?after=b"}}`
			},
			func(string) (map[string]string, string) {
				return nil, `{"data":` + rows("c") + `,"links":{"next":null}}`
			},
		}, []string{"page_size=100", "after=b"}},
		{"link header", []func(string) (map[string]string, string){
			func(base string) (map[string]string, string) {
				return map[string]string{"Link": `<` + base + `/sandbox-templates?page=1>; rel="first", <` + base +
					`/sandbox-templates?page=2&x=a,b>; rel="next last"`}, rows("a", "b")
			},
			func(string) (map[string]string, string) { return nil, rows("c") },
		}, []string{"page_size=100", "page=2&x=a,b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var base string
			srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				h, body := tt.pages[min(n, len(tt.pages)-1)](base)
				page(w, h, body)
			})
			base = srv.URL + "/api/v1"
			c, _, _ := newClient(t, srv, nil)
			got, err := c.ListTemplates(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[2].ID != "c" {
				t.Errorf("rows %+v, want a, b, c", got)
			}
			var queries []string
			for _, r := range srv.requests() {
				queries = append(queries, r.Query)
			}
			if strings.Join(queries, " ") != strings.Join(tt.want, " ") {
				t.Errorf("queries %q, want %q", queries, tt.want)
			}
		})
	}
}

// TestListBounds: against a hostile server the client bounds what it
// reads by row, not by body: a total far above any real account, more
// rows than that, a row larger than 1 MiB, a next page that repeats one
// already read (the loop guard, in each form), and a next link to another
// host, which gets nothing. Each is a clear error, none retried.
func TestListBounds(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elsewhere.Add(1)
		page(w, nil, `[]`)
	}))
	t.Cleanup(other.Close)
	manyRows := "[" + strings.Repeat(`{"id":"x"},`, miosa.MaxListRows) + `{"id":"y"}]`
	tests := []struct {
		name     string
		answer   func(w http.ResponseWriter, r *http.Request)
		is       error
		message  string
		requests int
	}{
		{"announced total", func(w http.ResponseWriter, _ *http.Request) {
			page(w, nil, `{"data":[{"id":"a"}],"page":{"page":1,"page_size":100,"total":5000000}}`)
		}, miosa.ErrListTooLong, "the server announces 5000000", 1},
		{"too many rows", func(w http.ResponseWriter, _ *http.Request) {
			page(w, nil, manyRows)
		}, miosa.ErrListTooLong, "far above any real account", 1},
		{"row over 1 MiB", func(w http.ResponseWriter, _ *http.Request) {
			page(w, nil, `{"data":[{"id":"a"},{"id":"b","description":"`+strings.Repeat("x", miosa.MaxRowSize)+`"}]}`)
		}, miosa.ErrResponseTooLarge, "a row of the list is larger than 1024 KiB", 1},
		{"envelope member over 1 MiB", func(w http.ResponseWriter, _ *http.Request) {
			page(w, nil, `{"meta":{"x":"`+strings.Repeat("x", miosa.MaxRowSize)+`"},"data":[]}`)
		}, miosa.ErrResponseTooLarge, "larger than 1024 KiB", 1},
		{"next link to itself", func(w http.ResponseWriter, r *http.Request) {
			page(w, nil, `{"data":[{"id":"a"}],"next":"/api/v1/sandbox-templates?page_size=100"}`)
		}, miosa.ErrPageLoop, "already read", 1},
		{"page object stuck on page 1", func(w http.ResponseWriter, _ *http.Request) {
			page(w, nil, `{"data":[{"id":"a"}],"page":{"page":1,"page_size":1,"total":9}}`)
		}, miosa.ErrPageLoop, "page=2", 2},
		{"link header cycle", func(w http.ResponseWriter, r *http.Request) {
			next := "/api/v1/sandbox-templates?p=2"
			if r.URL.Query().Get("p") == "2" {
				next = "/api/v1/sandbox-templates?p=1"
			}
			page(w, map[string]string{"Link": "<" + next + `>; rel="next"`}, `[{"id":"a"}]`)
		}, miosa.ErrPageLoop, "p=1", 3},
		{"next link to another host", func(w http.ResponseWriter, _ *http.Request) {
			page(w, nil, `{"data":[{"id":"a"}],"next":"`+other.URL+`/api/v1/sandbox-templates?page=2"}`)
		}, miosa.ErrForeignPage, "not under the API's base URL", 1},
		{"next link outside the base path", func(w http.ResponseWriter, _ *http.Request) {
			page(w, nil, `{"data":[{"id":"a"}],"next":"/admin/templates?page=2"}`)
		}, miosa.ErrForeignPage, "/admin/templates", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { tt.answer(w, r) })
			c, _, _ := newClient(t, srv, nil)
			_, err := c.ListTemplates(context.Background(), false)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("err = %v, want %v saying %q", err, tt.is, tt.message)
			}
			if n := srv.count(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host got %d requests, want 0", n)
	}
}

// TestListRetriesAPage: a page cut off mid-body is asked for again, and
// the rows the first attempt handed on are not handed on twice.
func TestListRetriesAPage(t *testing.T) {
	t.Parallel()
	var rows []string
	for i := range 100 {
		rows = append(rows, `{"id":"b`+strconv.Itoa(i)+`","state":"ready"}`)
	}
	body := `{"data":[` + strings.Join(rows, ",") + `],"page":{"page":1,"page_size":100,"total":100}}`
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(200)
			_, _ = w.Write([]byte(body[:len(body)*2/3]))
			panic(http.ErrAbortHandler) // the connection drops mid-body
		}
		page(w, nil, body)
	})
	c, _, _ := newClient(t, srv, nil)
	builds, err := c.ListBuilds(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 100 || builds[0].ID != "b0" || builds[99].ID != "b99" {
		t.Errorf("%d builds, want b0 to b99 once each", len(builds))
	}
	if n := srv.count(); n != 2 {
		t.Errorf("%d requests, want 2 (one retry)", n)
	}
}
