package prcommenttest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment/prcommenttest"
)

// get lists a page and returns its comments and Link header.
func get(t *testing.T, url string) ([]prcommenttest.Comment, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("User-Agent", "fake-test")
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var page []prcommenttest.Comment
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return page, resp.Header.Get("Link")
}

func TestPerPageAndLinks(t *testing.T) {
	t.Parallel()
	s := prcommenttest.New()
	defer s.Close()
	for range 5 {
		s.AddComment("o/r", 3, prcommenttest.Comment{Body: "x"})
	}
	page, link := get(t, s.URL()+"/repos/o/r/issues/3/comments?per_page=2")
	if len(page) != 2 || !strings.Contains(link, `/repositories/500/issues/3/comments?per_page=2&page=2>; rel="next"`) ||
		!strings.Contains(link, `page=3>; rel="last"`) {
		t.Fatalf("page 1: %d comments, Link %q", len(page), link)
	}
	next := strings.TrimPrefix(strings.Split(link, ">")[0], "<")
	page, link = get(t, next)
	if len(page) != 2 || !strings.Contains(link, `rel="prev"`) || !strings.Contains(link, `rel="next"`) {
		t.Fatalf("page 2: %d comments, Link %q", len(page), link)
	}
	page, link = get(t, s.URL()+"/repos/o/r/issues/3/comments?per_page=2&page=3")
	if len(page) != 1 || strings.Contains(link, `rel="next"`) {
		t.Fatalf("page 3: %d comments, Link %q", len(page), link)
	}
	if page, _ := get(t, s.URL()+"/repos/o/r/issues/3/comments"); len(page) != 5 {
		t.Errorf("default page: %d comments, want 5 (per_page 30)", len(page))
	}
	if c := s.Counts(); c.List != 4 || c.Refused != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	s := prcommenttest.New()
	defer s.Close()
	post := func(ua, auth, body string) int {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/repos/o/r/issues/3/comments", strings.NewReader(body))
		req.Header.Set("User-Agent", ua) // "" sends none
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	long := `{"body":"` + strings.Repeat("é", prcommenttest.MaxBody+1) + `"}`
	s.SetToken("good")
	for name, tt := range map[string]struct {
		ua, auth, body string
		want           int
	}{
		"no user agent": {"", "Bearer good", `{"body":"x"}`, http.StatusForbidden},
		"no token":      {"ua", "", `{"body":"x"}`, http.StatusUnauthorized},
		"wrong token":   {"ua", "Bearer bad", `{"body":"x"}`, http.StatusUnauthorized},
		"blank body":    {"ua", "Bearer good", `{"body":" "}`, http.StatusUnprocessableEntity},
		"too long":      {"ua", "Bearer good", long, http.StatusUnprocessableEntity},
		"not JSON":      {"ua", "Bearer good", `body=x`, http.StatusBadRequest},
		"ok":            {"ua", "Bearer good", `{"body":"x"}`, http.StatusCreated},
	} {
		if got := post(tt.ua, tt.auth, tt.body); got != tt.want {
			t.Errorf("%s: %d, want %d", name, got, tt.want)
		}
	}
	s.SetReadOnly(true)
	if got := post("ua", "Bearer good", `{"body":"x"}`); got != http.StatusForbidden {
		t.Errorf("read-only: %d", got)
	}
	if n := len(s.Comments("o/r", 3)); n != 1 {
		t.Errorf("%d comments, want 1", n)
	}
}
