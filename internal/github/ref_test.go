package github

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRef checks that a ref checkRef accepts names one resource under
// .../commits/ once escaped, never another endpoint or a query, and that a
// path cleanPath accepts has no "." or ".." element.
func FuzzRef(f *testing.F) {
	for _, s := range []string{"main", "feature/x", "v1.2.3", "../../issues", "a/./b", "a%2F..", "x?y=1", "#frag", "refs/heads/a b", "é/ü"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://ghes.example.com/api/v3/")
	const prefix = "/api/v3/repos/o/r/commits/"
	f.Fuzz(func(t *testing.T, ref string) {
		if checkRef(ref) == nil {
			u, err := base.Parse("repos/o/r/commits/" + escapeRef(ref))
			if err != nil || u.Path != prefix+ref || u.RawQuery != "" || u.Fragment != "" || u.Host != base.Host {
				t.Errorf("ref %q gives %v (%v)", ref, u, err)
			}
		}
		if cleanPath(ref) {
			for _, el := range strings.Split(ref, "/") {
				if el == "" || el == "." || el == ".." {
					t.Errorf("path %q has element %q", ref, el)
				}
			}
		}
	})
}

func TestCheckRef(t *testing.T) {
	t.Parallel()
	for ref, ok := range map[string]bool{
		"main": true, "feature/x": true, "v1.2.3": true, "refs/tags/v1": true, "a#b": true, "100%": true,
		"": false, "../x": false, "a/../b": false, "a..b": false, "a//b": false, "/a": false, "a/": false, ".hidden": false,
		"a.lock": false, "-x": false, "@": false, "a@{1}": false, "a b": false, "a~1": false, "a^": false, "a:b": false,
		"a?b": false, "a*": false, "a[": false, `a\b`: false, "a\nb": false,
	} {
		if got := checkRef(ref) == nil; got != ok {
			t.Errorf("checkRef(%q) accepts: %v, want %v", ref, got, ok)
		}
	}
}
