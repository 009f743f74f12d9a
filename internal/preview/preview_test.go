package preview

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const repo = "acme/platform"

func TestRepoHash(t *testing.T) {
	t.Parallel()
	h := RepoHash(repo)
	if len(h) != 6 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("RepoHash = %q, want 6 lowercase hex digits", h)
	}
	if RepoHash("ACME/Platform") != h {
		t.Error("RepoHash depends on case; GitHub's names do not")
	}
	if RepoHash("acme/platform2") == h {
		t.Error("two repositories share a hash")
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	h := RepoHash(repo)
	long := strings.Repeat("a", 40) + "-" + strings.Repeat("b", 22) // 63 characters
	cases := []struct {
		template string
		pr       int
		want     string
	}{
		{"node-22-base", 7, "node-22-base-pr7-" + h},
		{"a--b", 12, "a-b-pr12-" + h},
		{long, 7, strings.Repeat("a", 40) + "-bbbbbb-" + shortHash(long, 4) + "-pr7-" + h},
		{long, 1234567890, strings.Repeat("a", 38) + "-" + shortHash(long, 4) + "-pr1234567890-" + h},
	}
	for _, tc := range cases {
		got := Name(tc.template, tc.pr, repo)
		if got != tc.want {
			t.Errorf("Name(%q, %d) = %q, want %q", tc.template, tc.pr, got, tc.want)
		}
		if len(got) > MaxName {
			t.Errorf("Name(%q, %d) has %d characters, more than %d", tc.template, tc.pr, len(got), MaxName)
		}
		if n, ok := NumberIn(got, repo); !ok || n != tc.pr {
			t.Errorf("NumberIn(%q) = %d, %v; want %d", got, n, ok, tc.pr)
		}
	}
	// Two long names that share their first 50 characters keep apart.
	a, b := strings.Repeat("x", 55)+"-one", strings.Repeat("x", 55)+"-two"
	if Name(a, 7, repo) == Name(b, 7, repo) {
		t.Errorf("%q and %q share the preview %q", a, b, Name(a, 7, repo))
	}
}

func TestOwns(t *testing.T) {
	t.Parallel()
	slug, desc := Name("node-22-base", 7, repo), Description("node-22-base", 7, repo)
	if desc != "Preview of node-22-base for pull request acme/platform#7 (sandbox-templates-action)" {
		t.Errorf("Description = %q", desc)
	}
	cases := []struct {
		name       string
		slug, desc string
		repo       string
		want       int // 0: not owned
	}{
		{"this repository's preview", slug, desc, repo, 7},
		{"the repository's name in another case", slug, Description("node-22-base", 7, "Acme/Platform"), "ACME/platform", 7},
		{"another repository's hash", Name("node-22-base", 7, "acme/other"), Description("node-22-base", 7, "acme/other"), repo, 0},
		{"another repository's mark on this repository's slug", slug, Description("node-22-base", 7, "acme/other"), repo, 0},
		{"the mark of another pull request", slug, Description("node-22-base", 8, repo), repo, 0},
		{"the mark of another template", slug, Description("node-20-base", 7, repo), repo, 0},
		{"no mark", slug, "Node 22 with pnpm", repo, 0},
		{"the mark inside other text", slug, "x " + desc, repo, 0},
		{"the mark and more", slug, desc + "\n", repo, 0},
		{"a template named like a preview, no mark", "api-pr7-" + RepoHash(repo), "API", repo, 0},
		{"a slug over 63 characters", strings.Repeat("a", 60) + "-pr7-" + RepoHash(repo), desc, repo, 0},
		{"pr0", "node-22-base-pr0-" + RepoHash(repo), desc, repo, 0},
		{"empty", "", "", repo, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, ok := Owns(tc.slug, tc.desc, tc.repo)
			if ok != (tc.want > 0) || n != tc.want {
				t.Errorf("Owns(%q, %q, %q) = %d, %v; want %d", tc.slug, tc.desc, tc.repo, n, ok, tc.want)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	tpls := []Template{{"web", "sandbox-templates/web.yaml"}, {"api", "sandbox-templates/api.yaml"}, {"db", "sandbox-templates/db.yml"}}
	t.Run("the changed templates", func(t *testing.T) {
		s := Select(tpls, []string{"sandbox-templates/web.yaml", "README.md", "sandbox-templates/api.yaml"}, 7, repo, 10, "preview-max")
		want := Selection{Changed: []string{"api", "web"}, Previews: []Planned{
			{Template: "api", File: "sandbox-templates/api.yaml", Name: Name("api", 7, repo), Description: Description("api", 7, repo)},
			{Template: "web", File: "sandbox-templates/web.yaml", Name: Name("web", 7, repo), Description: Description("web", 7, repo)},
		}}
		if diff := cmp.Diff(want, s); diff != "" {
			t.Errorf("Select (-want +got):\n%s", diff)
		}
	})
	t.Run("none changed", func(t *testing.T) {
		if s := Select(tpls, []string{"README.md"}, 7, repo, 10, "preview-max"); len(s.Previews) != 0 || s.Skipped != "" || len(s.Changed) != 0 {
			t.Errorf("Select = %+v, want nothing", s)
		}
	})
	t.Run("at max", func(t *testing.T) {
		if s := Select(tpls, []string{"sandbox-templates/web.yaml", "sandbox-templates/api.yaml"}, 7, repo, 2, "preview-max"); len(s.Previews) != 2 || s.Skipped != "" {
			t.Errorf("Select = %+v, want 2 previews", s)
		}
	})
	t.Run("over max", func(t *testing.T) {
		s := Select(tpls, []string{"sandbox-templates/web.yaml", "sandbox-templates/api.yaml", "sandbox-templates/db.yml"}, 7, repo, 2, "preview-max")
		if len(s.Previews) != 0 || len(s.Changed) != 3 || !strings.Contains(s.Skipped, "preview-max") || !strings.Contains(s.Skipped, "3 templates") {
			t.Errorf("Select = %+v, want no preview and a reason naming preview-max", s)
		}
	})
	t.Run("names that share a preview", func(t *testing.T) {
		s := Select([]Template{{"a--b", "x/a2.yaml"}, {"a-b", "x/a1.yaml"}}, []string{"x/a1.yaml", "x/a2.yaml"}, 7, repo, 10, "preview-max")
		if len(s.Previews) != 0 || !strings.Contains(s.Skipped, "share the preview name") {
			t.Errorf("Select = %+v, want no preview", s)
		}
	})
}

func TestCandidatesAndPlan(t *testing.T) {
	t.Parallel()
	row := func(id, template string, pr int, r string) Row {
		return Row{ID: id, Name: Name(template, pr, r), Description: Description(template, pr, r)}
	}
	rows := []Row{
		row("1", "web", 7, repo),
		row("2", "api", 7, repo),
		row("3", "web", 9, repo),
		row("4", "web", 7, "acme/other"),                                 // another repository's
		{ID: "5", Name: "web", Description: "Web"},                       // main's
		{ID: "6", Name: Name("web", 11, repo), Description: "hand-made"}, // no mark
		{ID: "7", Name: Name("web", 12, repo), Description: Description("web", 12, repo), BuiltIn: true},
	}
	all := Candidates(rows, repo, 0)
	var ids []string
	for _, c := range all {
		ids = append(ids, fmt.Sprintf("%s#%d", c.ID, c.PR))
	}
	if diff := cmp.Diff([]string{"2#7", "1#7", "3#9"}, ids); diff != "" {
		t.Errorf("Candidates (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{7, 9}, Numbers(all)); diff != "" {
		t.Errorf("Numbers (-want +got):\n%s", diff)
	}
	if c := Candidates(rows, repo, 9); len(c) != 1 || c[0].ID != "3" {
		t.Errorf("Candidates of #9 = %+v, want row 3", c)
	}
	p := Plan(all, map[int]State{7: Closed})
	if len(p.Delete) != 2 || len(p.Keep) != 0 || len(p.Unknown) != 1 || p.Unknown[0].ID != "3" {
		t.Errorf("Plan = %+v, want #7's two deleted and #9's kept as unknown", p)
	}
	p = Plan(all, map[int]State{7: Open, 9: Closed})
	if len(p.Delete) != 1 || p.Delete[0].ID != "3" || len(p.Keep) != 2 {
		t.Errorf("Plan = %+v, want #9's one deleted", p)
	}
}

// FuzzOwns: no text is owned unless it is exactly the name and mark this
// package makes, and whatever is made is owned.
func FuzzOwns(f *testing.F) {
	f.Add("node-22-base", 7, "acme/platform", "node-22-base-pr7-000000", "Preview of x for pull request a/b#1 (sandbox-templates-action)")
	f.Add(strings.Repeat("z", 63), 99999, "Org/Repo.js", "", "")
	f.Fuzz(func(t *testing.T, template string, pr int, r, slug, desc string) {
		if n, ok := Owns(slug, desc, r); ok {
			m, _ := ParseMark(desc)
			if slug != Name(m.Template, n, r) || desc != Description(m.Template, n, m.Repository) {
				t.Fatalf("Owns(%q, %q, %q) holds for text this package does not make", slug, desc, r)
			}
		}
		if pr < 1 || pr > 1e9 || strings.Count(r, "/") != 1 || len(r) > 100 || strings.Trim(r, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") != "" ||
			strings.HasPrefix(r, "/") || strings.HasSuffix(r, "/") {
			return
		}
		if len(template) == 0 || len(template) > 63 || strings.Trim(template, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" ||
			template[0] == '-' || template[len(template)-1] == '-' {
			return
		}
		name := Name(template, pr, r)
		if len(name) > MaxName {
			t.Fatalf("Name(%q, %d) has %d characters", template, pr, len(name))
		}
		if n, ok := Owns(name, Description(template, pr, r), r); !ok || n != pr {
			t.Fatalf("the preview of %q for #%d of %q is not owned: %d, %v", template, pr, r, n, ok)
		}
	})
}
