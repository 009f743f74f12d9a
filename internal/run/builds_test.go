package run

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// buildsAPI serves a fixed build list through EachBuild and counts the
// builds it handed on; the rest of remoteAPI is not used.
type buildsAPI struct {
	remoteAPI
	builds []miosa.Build
	read   int
}

func (a *buildsAPI) EachBuild(_ context.Context, _ string, fn func(miosa.Build) bool) error {
	for _, b := range a.builds {
		a.read++
		if !fn(b) {
			return nil
		}
	}
	return nil
}

// hist makes builds from "id:state:spec@minute" words, newest first as
// given; @minute is optional (no creation time without it).
func hist(words string) []miosa.Build {
	var out []miosa.Build
	for _, w := range strings.Fields(words) {
		w, at, timed := strings.Cut(w, "@")
		f := strings.Split(w, ":")
		b := miosa.Build{ID: f[0], State: f[1], BuildSpec: map[string]any{"from": f[2]}}
		if timed {
			var m int
			fmt.Sscan(at, &m)
			t := time.Date(2026, 1, 1, 0, m, 0, 0, time.UTC)
			b.InsertedAt = &t
		}
		out = append(out, b)
	}
	return out
}

// TestReadBuilds: a build list is read only as far as the decision needs
// (the newest build, the newest not cancelled, and with build: always the
// newest of another spec), newest first; a list that shows another order
// is read to its end, and only what decides is kept.
func TestReadBuilds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		list   string
		always bool
		read   int
		kept   string
	}{
		{"newest serves", "b3:ready:a@3 b2:ready:a@2 b1:ready:a@1", false, 1, "b3"},
		{"newest cancelled", "b3:cancelled:a@3 b2:cancelled:b@2 b1:failed:a@1 b0:ready:a@0", false, 3, "b3 b2 b1"},
		{"building serves", "b2:building:b@2 b1:ready:a@1", false, 1, "b2"},
		{"none served", "b2:cancelled:a@2 b1:cancelled:a@1", false, 2, "b2 b1"},
		{"untimed", "b3:cancelled:a b2:ready:a b1:ready:a", false, 2, "b3 b2"},
		{"always: another spec", "b4:ready:a@4 b3:ready:a@3 b2:ready:b@2 b1:ready:a@1", true, 3, "b4 b2"},
		{"always: a cancelled one of another spec", "b3:cancelled:b@3 b2:ready:a@2 b1:ready:a@1", true, 2, "b3 b2"},
		{"always: one spec throughout", "b3:ready:a@3 b2:ready:a@2 b1:ready:a@1", true, 3, "b3"},
		{"not newest first: read to the end", "b1:cancelled:a@1 b3:ready:a@3 b2:ready:a@2 b5:cancelled:a@5 b4:failed:a@4", false, 5, "b5 b4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := &buildsAPI{builds: hist(tt.list)}
			kept, err := readBuilds(context.Background(), api, "t", tt.always)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, b := range kept {
				ids = append(ids, b.ID)
			}
			if got := strings.Join(ids, " "); got != tt.kept || api.read != tt.read {
				t.Errorf("kept %q after reading %d, want %q after %d", got, api.read, tt.kept, tt.read)
			}
		})
	}
}

// TestReadBuildsLongHistory: 10,000 builds of one template, the newest not
// cancelled after 50 that were: the reader stops at the 51st and keeps 51,
// with the specs of the cancelled ones dropped; with build: always and one
// spec throughout it reads all and keeps the served one alone.
func TestReadBuildsLongHistory(t *testing.T) {
	t.Parallel()
	var builds []miosa.Build
	for i := range 10_000 {
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Minute)
		state := miosa.StateReady
		if i < 50 {
			state = miosa.StateCancelled
		}
		builds = append(builds, miosa.Build{ID: fmt.Sprint(i), State: state, InsertedAt: &at,
			BuildSpec: map[string]any{"from": "node:22"}, Metadata: map[string]any{"events": []any{}}})
	}
	api := &buildsAPI{builds: builds}
	kept, err := readBuilds(context.Background(), api, "t", false)
	if err != nil {
		t.Fatal(err)
	}
	if api.read != 51 || len(kept) != 51 || kept[50].ID != "50" || kept[0].BuildSpec != nil || kept[50].BuildSpec == nil {
		t.Errorf("read %d, kept %d ending %s; want 51 and 51 ending with build 50, specs only on it", api.read, len(kept), kept[len(kept)-1].ID)
	}
	api = &buildsAPI{builds: builds}
	kept, err = readBuilds(context.Background(), api, "t", true)
	if err != nil {
		t.Fatal(err)
	}
	if api.read != 10_000 || len(kept) != 51 || !slices.ContainsFunc(kept, func(b miosa.Build) bool { return b.ID == "50" }) {
		t.Errorf("always: read %d, kept %d; want 10000 read and 51 kept (the cancelled ones and the served one)", api.read, len(kept))
	}
}

// TestPlanLongHistory: a template built 10,000 times (the newest build
// serves its file's spec) is planned from one page of its builds.
func TestPlanLongHistory(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.NewOptions())
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	spec := map[string]any{"from": "node:22", "steps": []any{map[string]any{"run": "echo hi"}}}
	if _, err := emu.SeedTemplate(emulator.TemplateSeed{Name: "web", BuildSpec: spec}); err != nil {
		t.Fatal(err)
	}
	for range 10_000 - 1 {
		if _, err := emu.SeedBuild("web", emulator.BuildSeed{}); err != nil {
			t.Fatal(err)
		}
	}
	root := writeFiles(t, map[string]string{"sandbox-templates/web.yaml": "build_spec:\n  from: node:22\n  steps:\n    - run: echo hi\n"})
	res, err := Do(context.Background(), Config{Root: root, Mode: ModePlan, APIKey: "msk_test", APIURL: srv.URL + "/api/v1"}, quiet{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Items) != 1 || res.Plan.Items[0].Action != plan.Unchanged {
		t.Fatalf("plan %+v (%v), want web unchanged", res.Plan.Items, res.Diagnostics)
	}
	if n := emu.Counters().Requests["list_builds"]; n != 1 {
		t.Errorf("%d list_builds requests, want 1 (the newest page of 100 decides)", n)
	}
}
