package emulator

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Template statuses and build states as the API page names them.
const (
	statusDraft  = "draft"
	statusReady  = "ready"
	statusFailed = "failed"
	statusActive = "active"

	stateQueued       = "queued"
	stateBuilding     = "building"
	stateCertifying   = "certifying"
	stateSnapshotting = "snapshotting"
	stateReady        = "ready"
	stateFailed       = "failed"
	stateCancelled    = "cancelled"
)

// failMarker is the env key (in a build spec) or metadata key (on a template
// or build) whose value fails the build with that error code.
const failMarker = "EMULATOR_FAIL"

// durationMarker is the env or metadata key whose value (a Go duration)
// overrides the build duration.
const durationMarker = "EMULATOR_BUILD_DURATION"

type template struct {
	ID             string
	Name           string
	Slug           string
	Description    string
	ImageID        string
	Category       string
	Default        bool
	BuiltIn        bool
	Public         bool
	Status         string
	CPUCount       int
	MemoryMB       int
	DiskMB         int
	Workdir        string
	PreviewPort    int
	InstallCommand string
	StartCommand   string
	ReadinessProbe string
	Runtimes       []string
	ArtifactPaths  []string
	Tags           []string
	BuildSpec      map[string]any
	CurrentBuildID string
	Metadata       map[string]any // client metadata, rendered only with Options.ClientMetadata
	Aliases        []string
	InsertedAt     time.Time
	UpdatedAt      time.Time
}

type event struct {
	Event string
	At    time.Time
}

type build struct {
	ID           string
	TemplateID   string
	TemplateName string
	SourceType   string
	State        string
	ImageID      string
	LogURL       string
	ErrorCode    string
	ErrorMessage string
	Metadata     map[string]any // client metadata; events are added when rendered
	Events       []event
	BuildSpec    map[string]any
	InsertedAt   time.Time
	UpdatedAt    time.Time
	StartedAt    time.Time
	FinishedAt   time.Time
	// plan, fixed at creation
	duration  time.Duration
	failCode  string
	failMsg   string
	failStep  int  // 1-based step that BUILD_STEP_FAILED blames; 0 = none
	immediate bool // failed at creation (BUILDS_TEMPORARILY_UNAVAILABLE)
	seq       int
}

func (b *build) terminal() bool {
	return b.State == stateReady || b.State == stateFailed || b.State == stateCancelled
}

// phases splits a build's duration across its states: the state starts at
// the given fraction (in tenths) of the duration.
var phases = []struct {
	state  string
	tenths int64
}{
	{stateBuilding, 1},
	{stateCertifying, 6},
	{stateSnapshotting, 8},
}

// store is the server's mutable state; every access holds Server.mu.
type store struct {
	templates []*template // insertion order; built-ins first
	builds    []*build    // creation order
	nextTmpl  int
	nextBuild int
	seed      int64
	// buildsByName counts builds per template name for Outcome.FailFirst;
	// unlike Counters it survives ResetCounters.
	buildsByName map[string]int
}

// builtIn is one platform template of the catalogue every tenant sees.
type builtIn struct {
	id, name, desc, category string
	cpu, mem, preview        int
	runtimes, aliases, tags  []string
	install, start, ready    string
}

// catalogue lists the 22 built-ins a real tenant sees (the ids and
// contents are plausible, not Miosa's).
var catalogue = []builtIn{
	{"base", "Base", "Debian 12 with common tools", "general", 2, 2048, 0, nil, []string{"default"}, []string{"debian"}, "", "", ""},
	{"nextjs", "Next.js", "Next.js on Node 22", "web", 2, 4096, 3000, []string{"node"}, []string{"next"}, []string{"react", "ssr"}, "npm install", "npm run dev", "curl -fsS http://localhost:3000"},
	{"node", "Node.js", "Node 22 with npm and pnpm", "language", 2, 2048, 3000, []string{"node"}, []string{"nodejs"}, []string{"javascript"}, "npm install", "npm start", ""},
	{"python", "Python", "Python 3.12 with pip and uv", "language", 2, 2048, 8000, []string{"python"}, []string{"py", "python3"}, []string{"python"}, "pip install -r requirements.txt", "python main.py", ""},
	{"react", "React", "React with Vite on Node 22", "web", 2, 4096, 5173, []string{"node"}, nil, []string{"react", "vite"}, "npm install", "npm run dev -- --host", "curl -fsS http://localhost:5173"},
	{"vue", "Vue", "Vue 3 with Vite", "web", 2, 4096, 5173, []string{"node"}, nil, []string{"vue", "vite"}, "npm install", "npm run dev -- --host", "curl -fsS http://localhost:5173"},
	{"svelte", "SvelteKit", "SvelteKit on Node 22", "web", 2, 4096, 5173, []string{"node"}, []string{"sveltekit"}, []string{"svelte", "vite"}, "npm install", "npm run dev -- --host", "curl -fsS http://localhost:5173"},
	{"astro", "Astro", "Astro static and SSR sites", "web", 2, 4096, 4321, []string{"node"}, nil, []string{"static"}, "npm install", "npm run dev -- --host", "curl -fsS http://localhost:4321"},
	{"remix", "Remix", "Remix on Node 22", "web", 2, 4096, 3000, []string{"node"}, nil, []string{"react", "ssr"}, "npm install", "npm run dev", "curl -fsS http://localhost:3000"},
	{"nuxt", "Nuxt", "Nuxt 3 on Node 22", "web", 2, 4096, 3000, []string{"node"}, nil, []string{"vue", "ssr"}, "npm install", "npm run dev", "curl -fsS http://localhost:3000"},
	{"angular", "Angular", "Angular CLI on Node 22", "web", 2, 4096, 4200, []string{"node"}, nil, []string{"typescript"}, "npm install", "npx ng serve --host 0.0.0.0", "curl -fsS http://localhost:4200"},
	{"express", "Express", "Express API on Node 22", "api", 2, 2048, 3000, []string{"node"}, nil, []string{"javascript", "api"}, "npm install", "node server.js", "curl -fsS http://localhost:3000"},
	{"bun", "Bun", "Bun 1.x runtime", "language", 2, 2048, 3000, []string{"bun"}, nil, []string{"javascript"}, "bun install", "bun run dev", ""},
	{"deno", "Deno", "Deno 2 runtime", "language", 2, 2048, 8000, []string{"deno"}, nil, []string{"typescript"}, "", "deno task dev", ""},
	{"fastapi", "FastAPI", "FastAPI with uvicorn", "api", 2, 2048, 8000, []string{"python"}, nil, []string{"python", "api"}, "pip install -r requirements.txt", "uvicorn main:app --host 0.0.0.0", "curl -fsS http://localhost:8000/docs"},
	{"django", "Django", "Django 5 on Python 3.12", "web", 2, 4096, 8000, []string{"python"}, nil, []string{"python"}, "pip install -r requirements.txt", "python manage.py runserver 0.0.0.0:8000", "curl -fsS http://localhost:8000"},
	{"flask", "Flask", "Flask on Python 3.12", "api", 2, 2048, 5000, []string{"python"}, nil, []string{"python", "api"}, "pip install -r requirements.txt", "flask run --host 0.0.0.0", "curl -fsS http://localhost:5000"},
	{"go", "Go", "Go 1.26 toolchain", "language", 2, 4096, 8080, []string{"go"}, []string{"golang"}, []string{"go"}, "go mod download", "go run .", ""},
	{"rust", "Rust", "Rust stable with cargo", "language", 4, 8192, 8080, []string{"rust"}, nil, []string{"rust"}, "cargo fetch", "cargo run", ""},
	{"rails", "Ruby on Rails", "Rails 8 on Ruby 3.3", "web", 2, 4096, 3000, []string{"ruby"}, []string{"ruby"}, []string{"ruby"}, "bundle install", "bin/rails server -b 0.0.0.0", "curl -fsS http://localhost:3000"},
	{"laravel", "Laravel", "Laravel 11 on PHP 8.3", "web", 2, 4096, 8000, []string{"php"}, []string{"php"}, []string{"php"}, "composer install", "php artisan serve --host 0.0.0.0", "curl -fsS http://localhost:8000"},
	{"java", "Java", "Temurin 21 with Maven and Gradle", "language", 4, 8192, 8080, []string{"java"}, []string{"spring"}, []string{"java", "jvm"}, "mvn -q dependency:go-offline", "mvn spring-boot:run", ""},
}

func builtIns(now time.Time) []*template {
	out := make([]*template, 0, len(catalogue))
	for _, c := range catalogue {
		t := &template{
			ID: c.id, Name: c.name, Slug: c.id, Description: c.desc, ImageID: "img_builtin_" + c.id,
			Category: c.category, BuiltIn: true, Public: true, Status: statusActive,
			CPUCount: c.cpu, MemoryMB: c.mem, DiskMB: 10240, Workdir: "/workspace", PreviewPort: c.preview,
			InstallCommand: c.install, StartCommand: c.start, ReadinessProbe: c.ready,
			Runtimes: orEmpty(c.runtimes), ArtifactPaths: []string{}, Aliases: orEmpty(c.aliases), Tags: orEmpty(c.tags),
			BuildSpec: map[string]any{}, Metadata: map[string]any{},
			InsertedAt: now, UpdatedAt: now,
		}
		t.Default = c.id == "base"
		out = append(out, t)
	}
	return out
}

func orEmpty(s []string) []string {
	return append([]string{}, s...)
}

// uuidFor derives a deterministic RFC 4122 version-5-style UUID from the
// seed and a counter, so runs with the same seed get the same ids.
func uuidFor(seed int64, kind string, n int) string {
	sum := sha1.Sum(fmt.Appendf(nil, "miosa-emulator/%d/%s/%d", seed, kind, n))
	sum[6] = (sum[6] & 0x0f) | 0x50
	sum[8] = (sum[8] & 0x3f) | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// hostileID returns an id that contains a newline and "::".
func hostileID(base, id string) string {
	if base == "" {
		base = "::error::hostile-id\n::add-mask::"
	}
	return base + id
}

// slugify lowercases name and turns every run of other characters into "-".
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return b.String()
}

func (st *store) findTemplate(idOrSlug string) *template {
	for _, t := range st.templates {
		if t.ID == idOrSlug {
			return t
		}
	}
	// Slugs: tenant templates win over built-ins of the same slug.
	var builtin *template
	for _, t := range st.templates {
		if t.Slug == idOrSlug || slices.Contains(t.Aliases, idOrSlug) {
			if !t.BuiltIn {
				return t
			}
			builtin = t
		}
	}
	return builtin
}

func (st *store) templateByID(id string) *template {
	for _, t := range st.templates {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// findOwned finds the tenant's (non-built-in) template with this slug: a
// template's identity is its slug, so two templates may share a display
// name ("api", slugs api and api-playground), as on Miosa's server, whose
// create collides on the slug alone.
func (st *store) findOwned(slug string) *template {
	for _, t := range st.templates {
		if !t.BuiltIn && t.Slug == slug {
			return t
		}
	}
	return nil
}

func (st *store) findBuild(id string) *build {
	for _, b := range st.builds {
		if b.ID == id {
			return b
		}
	}
	return nil
}

// activeBuilds counts the builds of a template that are not terminal.
func (st *store) activeBuilds(templateID string) int {
	n := 0
	for _, b := range st.builds {
		if b.TemplateID == templateID && !b.terminal() {
			n++
		}
	}
	return n
}

// remove deletes a template and its builds.
func (st *store) remove(t *template) {
	st.templates = slices.DeleteFunc(st.templates, func(x *template) bool { return x == t })
	st.builds = slices.DeleteFunc(st.builds, func(b *build) bool { return b.TemplateID == t.ID })
}

// buildsOf returns the builds of a template, newest first.
func (st *store) buildsOf(templateID string) []*build {
	var out []*build
	for _, b := range st.builds {
		if b.TemplateID == templateID {
			out = append(out, b)
		}
	}
	slices.Reverse(out)
	return out
}

// applySpec copies the derived fields of a normalized spec onto t.
func (t *template) applySpec(spec map[string]any) {
	t.BuildSpec = spec
	size, _ := spec["size"].(string)
	cpu, mem := templateResources(size)
	t.CPUCount = intOr(spec["vcpu"], cpu)
	t.MemoryMB = intOr(spec["memoryMib"], mem)
	t.DiskMB = intOr(spec["diskMib"], 10240)
	t.Workdir, _ = spec["workdir"].(string)
	t.PreviewPort = intOr(spec["previewPort"], 0)
	t.StartCommand, _ = spec["startCmd"].(string)
	t.ReadinessProbe, _ = spec["readyCmd"].(string)
	t.Runtimes = []string{}
	if rt, ok := spec["runtime"].(string); ok {
		t.Runtimes = []string{rt}
	}
	t.ArtifactPaths = stringsOf(spec["artifactPaths"])
}

// templateResources are a size's vCPUs and memory (sizeTable), or those of
// a spec without a size.
func templateResources(size string) (cpu, memMB int) {
	if r, ok := sizeTable[size]; ok {
		return r[0], r[1]
	}
	return 2, 2048
}

// Error codes with their own behaviour.
const (
	codeStepFailed      = "BUILD_STEP_FAILED"
	codeTemporarilyDown = "BUILDS_TEMPORARILY_UNAVAILABLE"
)

// temporarilyDownMessage is the platform's message for BUILDS_TEMPORARILY_UNAVAILABLE.
const temporarilyDownMessage = "Template builds are being upgraded. Your template was saved as a draft and will build once this ships."

// planBuild fixes a new build's duration and outcome from, in order of
// precedence: the spec's env marker, the build's metadata marker, the
// template's metadata marker, and the per-template Outcome. n is the
// build's ordinal among the builds of its template name (1 = first).
func planBuild(b *build, t *template, opts Options, n int) {
	o := opts.Outcomes[t.Name]
	b.duration = opts.BuildDuration
	if o.Duration > 0 {
		b.duration = o.Duration
	}
	if o.ErrorCode != "" && (o.FailFirst <= 0 || n <= o.FailFirst) {
		b.failCode, b.failMsg = o.ErrorCode, o.ErrorMessage
	}
	env, _ := b.BuildSpec["env"].(map[string]any)
	for _, src := range []map[string]any{t.Metadata, b.Metadata, env} {
		if v, ok := src[durationMarker].(string); ok {
			if d, err := time.ParseDuration(v); err == nil && d >= 0 {
				b.duration = d
			}
		}
		if v, ok := src[failMarker].(string); ok && v != "" {
			b.failCode, b.failMsg = v, ""
		}
	}
	describeFailure(b, o.FailStep)
}

// describeFailure completes the failure of a build that b.failCode fails:
// the message (unless b.failMsg is set), the step that BUILD_STEP_FAILED
// blames (failStep, 1-based; 0 or past the end means the last one), and
// whether it fails at once (BUILDS_TEMPORARILY_UNAVAILABLE).
func describeFailure(b *build, failStep int) {
	switch b.failCode {
	case "":
		return
	case codeStepFailed:
		steps := stepRuns(b.BuildSpec)
		msg := "image build exited 1: emulated failure"
		if len(steps) > 0 {
			k := failStep
			if k <= 0 || k > len(steps) {
				k = len(steps)
			}
			b.failStep = k
			msg = fmt.Sprintf("step %d `%s` exited 1: %s", k, steps[k-1], stepFailure(steps[k-1]))
		}
		if b.failMsg == "" {
			b.failMsg = msg
		}
	case codeTemporarilyDown:
		b.immediate = true
		if b.failMsg == "" {
			b.failMsg = temporarilyDownMessage
		}
	default:
		if b.failMsg == "" {
			b.failMsg = "build failed with " + b.failCode + " (emulated failure)"
		}
	}
}

// stepRuns returns the first line of each step's run command.
func stepRuns(spec map[string]any) []string {
	list, _ := spec["steps"].([]any)
	var out []string
	for _, s := range list {
		m, _ := s.(map[string]any)
		run, _ := m["run"].(string)
		line, _, _ := strings.Cut(strings.TrimSpace(run), "\n")
		out = append(out, line)
	}
	return out
}

// stepFailure is the emulated stderr of a failing step.
func stepFailure(run string) string {
	switch {
	case strings.Contains(run, "npm"):
		return "ENOENT package-lock.json"
	case strings.Contains(run, "pip"):
		return "No matching distribution found"
	default:
		return "emulated failure"
	}
}

// transition is a scheduled state change of one build.
type transition struct {
	b     *build
	state string
	at    time.Time
}

// advance moves every non-terminal build to its state at now and applies
// finished builds to their templates in the order they finished.
func (st *store) advance(now time.Time) {
	var due []transition
	for _, b := range st.builds {
		if b.terminal() {
			continue
		}
		for _, p := range phases {
			at := b.InsertedAt.Add(time.Duration(int64(b.duration) * p.tenths / 10))
			if !at.After(now) && stateRank(b.State) < stateRank(p.state) {
				due = append(due, transition{b, p.state, at})
			}
		}
		if end := b.InsertedAt.Add(b.duration); !end.After(now) {
			final := stateReady
			if b.failCode != "" {
				final = stateFailed
			}
			due = append(due, transition{b, final, end})
		}
	}
	slices.SortStableFunc(due, func(x, y transition) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.b.seq - y.b.seq
	})
	for _, tr := range due {
		st.apply(tr)
	}
}

func stateRank(s string) int {
	switch s {
	case stateQueued:
		return 0
	case stateBuilding:
		return 1
	case stateCertifying:
		return 2
	case stateSnapshotting:
		return 3
	default:
		return 4
	}
}

func (st *store) apply(tr transition) {
	b := tr.b
	b.State = tr.state
	b.UpdatedAt = tr.at
	b.Events = append(b.Events, event{tr.state, tr.at})
	if tr.state == stateBuilding {
		b.StartedAt = tr.at
	}
	if !b.terminal() {
		return
	}
	if b.StartedAt.IsZero() && !b.immediate {
		b.StartedAt = tr.at
	}
	b.FinishedAt = tr.at
	t := st.templateByID(b.TemplateID)
	if t == nil {
		return
	}
	switch tr.state {
	case stateReady:
		b.ImageID = "img_" + imageSuffix(b.ID)
		t.Status = statusReady
		t.ImageID = b.ImageID
		t.CurrentBuildID = b.ID
	case stateFailed:
		// The template points at its newest finished build, failed or not,
		// and keeps the image of its last ready build. A build that fails at
		// once (BUILDS_TEMPORARILY_UNAVAILABLE) leaves the status alone.
		b.ErrorCode, b.ErrorMessage = b.failCode, b.failMsg
		t.CurrentBuildID = b.ID
		if !b.immediate {
			t.Status = statusFailed
		}
	}
	t.UpdatedAt = tr.at
}

// imageSuffix derives the image id of a ready build from its id.
func imageSuffix(buildID string) string {
	sum := sha256.Sum256([]byte(buildID))
	return hex.EncodeToString(sum[:8])
}

func intOr(v any, def int) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int64:
		return int(n)
	case int:
		return n
	}
	return def
}

func stringsOf(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return maps.Clone(m)
}
