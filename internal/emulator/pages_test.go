package emulator_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// TestListPages: the lists are paged as the API reference says (page,
// page_size default 20 and at most 100, {"data", "page": {page, page_size,
// total}}), and in the other forms a test may ask for: a next link in the
// body, a Link header, or the whole list at once. Following each form from
// the first page yields every row once, in order.
func TestListPages(t *testing.T) {
	t.Parallel()
	const own = 57 // 79 rows with the 22 built-ins
	for _, form := range []string{"", "page", "next", "link", "bare", "data", "default", "templates"} {
		t.Run("form="+form, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.Variant.List = form
			e := setup(t, o)
			for i := range own {
				if _, err := e.emu.SeedTemplate(emulator.TemplateSeed{Name: fmt.Sprintf("t-%02d", i), BuildSpec: spec("node:22")}); err != nil {
					t.Fatal(err)
				}
			}
			var names []string
			requests := 0
			path := "/api/v1/sandbox-templates?page_size=30"
			for path != "" {
				requests++
				r := e.req("GET", path, nil).must(t, http.StatusOK)
				path = ""
				for _, row := range r.list(t) {
					names = append(names, row["name"].(string))
				}
				switch form {
				case "", "page":
					pg := r.obj(t)["page"].(map[string]any)
					if p, size, total := int(pg["page"].(float64)), int(pg["page_size"].(float64)), int(pg["total"].(float64)); p*size < total {
						path = fmt.Sprintf("/api/v1/sandbox-templates?page=%d&page_size=%d", p+1, size)
					}
				case "next":
					if next, ok := r.obj(t)["next"].(string); ok {
						path = strings.TrimPrefix(next, e.srv.URL)
					}
				case "link":
					if link := r.header.Get("Link"); link != "" {
						path = strings.TrimPrefix(strings.TrimSuffix(link, `>; rel="next"`), "<"+e.srv.URL)
					}
				}
			}
			wantRequests := 3 // 30 + 30 + 19
			if form == "bare" || form == "data" || form == "default" || form == "templates" {
				wantRequests = 1
			}
			if len(names) != 22+own || requests != wantRequests {
				t.Fatalf("%d rows in %d requests, want %d in %d", len(names), requests, 22+own, wantRequests)
			}
			for i := range own {
				if names[22+i] != fmt.Sprintf("t-%02d", i) {
					t.Fatalf("row %d is %q, want t-%02d (insertion order)", 22+i, names[22+i], i)
				}
			}
		})
	}
}

// TestListPageBounds: page_size above 100 is served as 100, a page past
// the end is empty, and a page or page_size that is not a positive
// integer is 422 VALIDATION_FAILED.
func TestListPageBounds(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	for i := range 120 {
		if _, err := e.emu.SeedTemplate(emulator.TemplateSeed{Name: fmt.Sprintf("t-%03d", i), BuildSpec: spec("node:22")}); err != nil {
			t.Fatal(err)
		}
	}
	r := e.req("GET", "/api/v1/sandbox-templates?page_size=1000", nil).must(t, http.StatusOK)
	equal(t, r.obj(t)["page"], map[string]any{"page": 1, "page_size": 100, "total": 142})
	equal(t, len(r.list(t)), 100)
	equal(t, len(e.req("GET", "/api/v1/sandbox-templates?page=2&page_size=100", nil).must(t, http.StatusOK).list(t)), 42)
	equal(t, len(e.req("GET", "/api/v1/sandbox-templates?page=99999999999999&page_size=100", nil).must(t, http.StatusOK).list(t)), 0)
	for _, q := range []string{"page=0", "page=x", "page_size=-1", "page_size=1.5"} {
		r := e.req("GET", "/api/v1/sandbox-templates?"+q, nil).must(t, http.StatusUnprocessableEntity)
		if r.errCode(t) != "VALIDATION_FAILED" {
			t.Errorf("%s: %s", q, r.body)
		}
	}
}

// TestBuildPages: a template's builds are paged newest first.
func TestBuildPages(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	id := e.create("web", spec("node:22"))["id"].(string)
	for range 44 {
		e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusCreated)
	}
	first := e.req("GET", "/api/v1/sandbox-templates/"+id+"/builds", nil).must(t, http.StatusOK)
	equal(t, first.obj(t)["page"], map[string]any{"page": 1, "page_size": 20, "total": 45})
	last := e.req("GET", "/api/v1/sandbox-templates/"+id+"/builds?page=3", nil).must(t, http.StatusOK).list(t)
	st := e.emu.State()
	if len(last) != 5 || last[4]["id"] != st.Builds[0].ID {
		t.Errorf("page 3 holds %d builds ending with %v, want 5 ending with the first build %s", len(last), last[len(last)-1]["id"], st.Builds[0].ID)
	}
	if rows := first.list(t); rows[0]["id"] != st.Builds[len(st.Builds)-1].ID {
		t.Errorf("page 1 starts with %v, want the newest build", rows[0]["id"])
	}
}
