#!/usr/bin/env bash
# End-to-end test of the Docker action under a real GitHub Actions runner (act).
#
# What it proves, in order:
#   1. binary      the CLI builds on the host (it serves the local API emulator)
#   2. emulator    `sandbox-templates emulator` answers on 127.0.0.1
#   3. image       the real Dockerfile builds (scripts/action-image.sh: the builder base
#                  is a local stand-in from scripts/docker-standins/ when no registry is
#                  reachable; E2E_PULL_BASE=1 pulls the real one), or the image .ci/run
#                  built once is there (ACTION_IMAGE); the image is under 25 MB
#   4. image-fs    the image holds /etc/ssl/certs/ca-certificates.crt and the binary
#   5. tls         `plan` in the image reaches an HTTPS emulator whose test CA is supplied
#                  with SSL_CERT_FILE, and refuses it when the CA is not supplied
#   6. act-push    act runs `uses: ./` on a push: templates created and built, outputs
#                  checked with fromJSON in later steps, server counters checked
#   7. act-rerun   the same commit again: no new template, no new build (server counters),
#                  the same build-ids output (the first run's builds, found serving)
#   8. act-pr      pull_request event, broken template, no secret (a fork): the step
#                  fails and the log names file:line of each problem
#   9. the workflows users copy (the README's quick start: examples/workflows/, and the
#                  docs' preview workflow), listed in user_runs below, each run under act
#                  as a user runs it: only the emulator's api-url is added to the file; act
#                  gets the secret, resolves the action's published `uses:` reference to
#                  this checkout, and is given a GitHub (scripts/githubfake, seeded from the
#                  workspace's history and the pull request) with its token; against an
#                  emulator reset to an empty account; one phase per workflow and event
#  10. act-builds  act built no image of its own: every run used the one image of phase 3
#
# Usage:   scripts/e2e-act.sh            (from anywhere; needs docker, act, go, git, jq, curl)
# Env:     CI=true          install act if missing; missing docker/act is a failure, not a skip
#          ACT=path         the act binary (default: act on PATH, else ~/go/bin/act)
#          ACTION_IMAGE=name, ACTION_IMAGE_VERSION=v
#                           use this image of the Dockerfile, built with VERSION=v (.ci/run
#                           builds it once for this script and the release dry run, and
#                           removes it); unset: build one here and remove it at exit
#          E2E_PULL_BASE=1  docker pull the real golang base image instead of a stand-in
#          E2E_PORT=N       a fixed emulator port (N+1 for the HTTPS front); by default the
#                           emulator and the HTTPS front each take a free port
#          E2E_KEEP=1       keep the temporary directory (logs, workspaces, workflows run)
# Install act: go install github.com/nektos/act@v0.2.89
#
# How act runs here (verified with act v0.2.89):
# - `-P ubuntu-latest=-self-hosted` runs the job's `run:` steps on the host (no job
#   image). The Docker action (`uses: ./`) runs with `docker run`.
# - act names the image of `uses: ./` act-dockeraction:latest and, by default, builds it
#   again in every run. Here the image of phase 3 is tagged with that name (and the tag
#   removed at exit) and act runs with --rebuild=false: one build of the Dockerfile
#   serves every run. Phase 10 fails if act built one anyway.
# - The workflows users copy keep `uses: miosa-dev/sandbox-templates-action@REF`, and
#   `--local-repository miosa-dev/sandbox-templates-action@REF=WORKSPACE` makes act read
#   the action from the workspace instead of fetching it. act names that image
#   act-miosa-dev-sandbox-templates-action-REF-dockeraction:latest (act_image_of below),
#   a name the users phase gives the image of phase 3 too. `uses: ./` would not do there:
#   it needs a checkout before the step, and the docs' preview workflow checks out
#   nothing on the closed event (on GitHub the runner fetches the action anyway).
# - act's GITHUB_API_URL is https://api.github.com unless --env GITHUB_API_URL is given
#   (then github.api_url and the steps' GITHUB_API_URL are that); github.token is the
#   secret GITHUB_TOKEN. The user runs get the fake's URL (127.0.0.1: the action's
#   container is on the host network) and its token.
# - In that mode act starts the action container on the default bridge network (not
#   host) and hands it GITHUB_OUTPUT / GITHUB_WORKSPACE paths under act's cache
#   directory on the host, which it does not mount. `--container-options` adds
#   `--network host` (so 127.0.0.1 is the emulator) and a bind of act's cache directory
#   at the same path (so those files exist in the container). XDG_CACHE_HOME points
#   act's cache into our temporary directory.
# - act does not fetch actions/checkout when it checks out the repository being run: it
#   copies the working directory into the job's workspace, so the workflows keep the
#   same checkout step a real workflow has, and no network is needed.
# - --json: each log line is a JSON object; NAME.json keeps them (the outputs the action
#   set are its "set-output" lines), NAME.log is their text.
set -uo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fixtures="$repo_root/testdata/workflows/e2e"
port=${E2E_PORT:-}                          # empty: the emulator takes a free port
tls_port=${E2E_PORT:+$((E2E_PORT + 1))}     # empty: free_port picks one
emu=""                                      # http://127.0.0.1:PORT once the emulator listens
image=${ACTION_IMAGE:-sandbox-templates-action:e2e-$$}
version=${ACTION_IMAGE:+${ACTION_IMAGE_VERSION:?ACTION_IMAGE_VERSION: the VERSION ACTION_IMAGE was built with}}
version=${version:-e2e-$$}                  # stamped into the image with -X main.version
act_image=act-dockeraction:latest           # act's name for the image of `uses: ./`
fixture_repo=miosa-dev/e2e-fixture          # the workspace's repository (its origin remote)
gh_token="ghs_e2e_$$_$(date +%s)"           # the GitHub fake's token: GITHUB_TOKEN of the user runs
api_key="msk_e2e_$(date +%s)"
max_image_bytes=$((25 * 1000 * 1000))

say() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
fail() { printf '    FAIL: %s\n' "$*" >&2; return 1; }

# --- prerequisites ---------------------------------------------------------------
ACT=${ACT:-$(command -v act || echo "$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin/act")}
if [[ ! -x "$ACT" && "${CI:-}" == true ]] && command -v go >/dev/null; then
	echo "e2e-act: installing act (go install github.com/nektos/act@v0.2.89)"
	go install github.com/nektos/act@v0.2.89 && ACT="$(go env GOPATH)/bin/act"
fi
missing=()
command -v docker >/dev/null && docker info >/dev/null 2>&1 || missing+=("docker (with a running engine)")
[[ -x "$ACT" ]] || missing+=("act (go install github.com/nektos/act@v0.2.89)")
for tool in go git jq curl tar; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
	if [[ "${CI:-}" == true ]]; then
		printf 'e2e-act: FAIL: missing %s\n' "${missing[@]}" >&2
		exit 1
	fi
	printf 'e2e-act: SKIP: missing %s (set CI=true to make this a failure)\n' "${missing[@]}" >&2
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e-act.XXXXXX")
logs="$tmp/logs"
mkdir -p "$logs"
ledger="$tmp/docker-ledger" # what this run made in Docker (scripts/action-image.sh)
pids=()
containers=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
	"$repo_root/scripts/action-image.sh" clean "$ledger"
	if [[ "${E2E_KEEP:-}" == 1 ]]; then
		echo "kept $tmp"
	else
		chmod -R u+w "$tmp" 2>/dev/null
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

# --- phase bookkeeping -----------------------------------------------------------
names=() results=() times=()
phase() { # phase NAME FUNCTION WHY_NOT: runs FUNCTION unless WHY_NOT says what it needs is missing
	local name=$1 fn=$2 why_not=${3#; } start=$SECONDS rc
	say "$name"
	if [[ -n "$why_not" ]]; then
		info "skipped: $why_not"
		names+=("$name") results+=(SKIP) times+=(0)
		return 1
	fi
	"$fn"
	rc=$?
	names+=("$name") times+=($((SECONDS - start)))
	if ((rc == 0)); then results+=(PASS); else results+=(FAIL); fi
	info "$name: ${results[-1]} in $((SECONDS - start))s"
	return $rc
}
counters() { curl -fsS "$emu/__emulator/counters"; }
free_port() { # prints a port on 127.0.0.1 that nothing listens on now
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
counter() { jq -r "$1" <<<"$2"; } # counter JQ_EXPR COUNTERS_JSON

# --- phases ----------------------------------------------------------------------
build_binary() {
	local main=.
	[[ -d "$repo_root/cmd/sandbox-templates" ]] && main=./cmd/sandbox-templates
	(cd "$repo_root" && go build -o "$tmp/sandbox-templates" "$main" && go build -o "$tmp/act-workflow" ./scripts/act-workflow &&
		go build -o "$tmp/githubfake" ./scripts/githubfake) 2>&1 | sed 's/^/    /'
	[[ ${PIPESTATUS[0]} == 0 ]] || fail "go build failed"
}

start_emulator() {
	if [[ -n "$port" ]] && curl -s -o /dev/null "127.0.0.1:$port"; then
		fail "port $port is already in use (unset E2E_PORT to take a free one)"
		return 1
	fi
	# Port 0 lets the kernel pick a free port; the emulator prints the address it listens on.
	"$tmp/sandbox-templates" emulator --addr "127.0.0.1:${port:-0}" >"$logs/emulator.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		[[ -n "$emu" ]] || emu=$(sed -n 's|^emulator listening on \(http://127\.0\.0\.1:[0-9][0-9]*\)/api/v1.*|\1|p' "$logs/emulator.log" | head -1)
		if [[ -n "$emu" ]] && counters >/dev/null 2>&1; then
			port=${emu##*:}
			info "emulator on $emu (pid ${pids[-1]})"
			return 0
		fi
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.2
	done
	sed 's/^/    emulator: /' "$logs/emulator.log"
	fail "emulator did not answer on ${emu:-the address it printed}/__emulator/counters"
}

build_image() {
	local size
	if [[ -n "${ACTION_IMAGE:-}" ]]; then
		docker image inspect "$image" >/dev/null 2>&1 || { fail "ACTION_IMAGE=$image does not exist"; return 1; }
		info "$image: built once by the caller (VERSION=$version)"
	else
		"$repo_root/scripts/action-image.sh" build "$image" "$version" "$ledger" 2>&1 | sed 's/^/    /'
		[[ ${PIPESTATUS[0]} == 0 ]] || { fail "the image does not build"; return 1; }
	fi
	size=$(docker image inspect -f '{{.Size}}' "$image")
	info "image $image: $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.1f MB", s/1e6}'))"
	((size < max_image_bytes)) || fail "image is larger than 25 MB" || return 1
	# act runs this image for `uses: ./` (with --rebuild=false) instead of building its own.
	"$repo_root/scripts/action-image.sh" tag "$image" "$act_image" "$ledger" || fail "cannot tag $image as $act_image"
}

image_fs() {
	local cid listing certs printed
	cid=$(docker create "$image") || return 1
	containers+=("$cid")
	listing=$(docker export "$cid" | tar -t)
	info "files: $(grep -v '/$' <<<"$listing" | grep -vE '^(\./)?(dev|proc|sys|etc/(hosts|hostname|resolv\.conf|mtab))' | tr '\n' ' ')"
	grep -qxE '(\./)?etc/ssl/certs/ca-certificates\.crt' <<<"$listing" || fail "no /etc/ssl/certs/ca-certificates.crt in the image" || return 1
	grep -qxE '(\./)?sandbox-templates' <<<"$listing" || fail "no /sandbox-templates in the image" || return 1
	certs=$(docker export "$cid" | tar -xO etc/ssl/certs/ca-certificates.crt | grep -c 'BEGIN CERTIFICATE')
	info "system CA bundle: $certs certificates"
	((certs > 50)) || fail "the CA bundle holds only $certs certificates"
	printed=$(docker run --rm "$image" version 2>&1)
	[[ "$printed" == "$version" ]] || fail "\`docker run $image version\` printed '$printed', want $version (-X main.version)" || return 1
	info "version: $printed (stamped with -X main.version)"
	docker inspect -f '{{json .Config.Entrypoint}} user={{.Config.User}}' "$image" | sed 's/^/    entrypoint: /'
}

tls_check() {
	local before after rc ws="$tmp/tls-ws" n0 n1
	mkdir -p "$ws/sandbox-templates"
	cp "$fixtures"/templates/* "$ws/sandbox-templates/"
	(cd "$repo_root" && go build -o "$tmp/tlsproxy" scripts/e2e-tlsproxy.go) || { fail "build tlsproxy"; return 1; }
	start_tlsproxy || return 1
	# `plan` reads the remote state (list, schema, validate) and writes nothing. CLI mode:
	# no GITHUB_ACTIONS, key and URL from the environment, default patterns relative to
	# the working directory.
	local run=(docker run --rm --network host -v "$ws:/github/workspace" -w /github/workspace
		-e MIOSA_API_KEY="$api_key" -e MIOSA_API_URL="https://127.0.0.1:$tls_port/api/v1")
	local total='[.requests[]] | add // 0'
	info "without the test CA (must fail, no request may reach the emulator):"
	before=$(counters)
	"${run[@]}" "$image" plan >"$logs/tls-untrusted.log" 2>&1
	rc=$?
	after=$(counters)
	sed 's/^/      | /' "$logs/tls-untrusted.log" | head -20
	n0=$(counter "$total" "$before") n1=$(counter "$total" "$after")
	((n1 == n0)) || fail "$((n1 - n0)) requests reached the emulator through an untrusted certificate" || return 1
	((rc != 0)) || fail "plan succeeded although the server's certificate is not trusted" || return 1
	grep -qiE 'certificate|x509' "$logs/tls-untrusted.log" || info "NOTE: the output does not say it is a certificate problem"
	info "untrusted: exit $rc, no request reached the emulator"

	info "with SSL_CERT_FILE=/etc/e2e/test-ca.pem (must succeed over HTTPS):"
	before=$(counters)
	"${run[@]}" -v "$tmp/test-ca.pem:/etc/e2e/test-ca.pem:ro" -e SSL_CERT_FILE=/etc/e2e/test-ca.pem \
		"$image" plan >"$logs/tls-trusted.log" 2>&1
	rc=$?
	after=$(counters)
	sed 's/^/      | /' "$logs/tls-trusted.log" | head -20
	n0=$(counter "$total" "$before") n1=$(counter "$total" "$after")
	info "trusted: exit $rc, $((n1 - n0)) API requests over HTTPS, writes $(counter .writes "$before") -> $(counter .writes "$after")"
	((rc == 0)) || fail "plan over HTTPS with the test CA exited $rc" || return 1
	((n1 > n0)) || fail "no request reached the emulator over HTTPS"
}

start_tlsproxy() { # the HTTPS front of the emulator, on tls_port or on a free port (tried again if taken meanwhile)
	local fixed=$tls_port
	for _ in 1 2 3; do
		tls_port=${fixed:-$(free_port)} || { fail "no free port for the HTTPS front"; return 1; }
		"$tmp/tlsproxy" -listen "127.0.0.1:$tls_port" -upstream "$emu" -ca-out "$tmp/test-ca.pem" >"$logs/tlsproxy.log" 2>&1 &
		pids+=($!)
		for _ in $(seq 50); do
			grep -qx ready "$logs/tlsproxy.log" 2>/dev/null && { info "HTTPS front on 127.0.0.1:$tls_port"; return 0; }
			kill -0 "${pids[-1]}" 2>/dev/null || break
			sleep 0.1
		done
		[[ -z "$fixed" ]] || break
	done
	sed 's/^/    tlsproxy: /' "$logs/tlsproxy.log"
	fail "the HTTPS front did not start on 127.0.0.1:$tls_port"
}

setup_workspace() { # setup_workspace DIR WORKFLOW...: a user repository in DIR; ws=DIR
	ws=$1
	shift
	act_cache="$tmp/xdg-cache/act"
	mkdir -p "$ws" "$act_cache" "$tmp/xdg-config"
	# A copy of the action repository (tracked and new files, not ignored ones) at the
	# root of a fresh git repository, so `uses: ./` builds the real Dockerfile, with the
	# fixture templates and workflows in the places a user repository has them.
	# Files deleted in the working tree but still in the index are left out.
	(cd "$repo_root" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -C "$ws" -xf - || return 1
	# The action repository's .gitignore may ignore /sandbox-templates (the binary's name);
	# act's checkout copies only what git does not ignore, so the workspace has none.
	rm -rf "$ws/.github/workflows" "$ws/sandbox-templates" "$ws/.gitignore"
	mkdir -p "$ws/.github/workflows" "$ws/sandbox-templates"
	(($# == 0)) || cp "$@" "$ws/.github/workflows/"
	cp "$fixtures"/templates/* "$ws/sandbox-templates/"
	(
		cd "$ws" && git init -q -b main && git remote add origin https://github.com/miosa-dev/e2e-fixture.git &&
			git add -A && git -c user.name=e2e -c user.email=e2e@example.invalid commit -qm "e2e fixture"
	) || return 1
	info "workspace $ws at $(git -C "$ws" rev-parse --short HEAD)"
}

act_run() { # act_run LOGNAME EVENT WORKFLOW [act args...]; returns act's exit code
	local name=$1 event=$2 wf=$3
	shift 3
	(
		cd "$ws" && XDG_CACHE_HOME="$tmp/xdg-cache" XDG_CONFIG_HOME="$tmp/xdg-config" \
			"$ACT" "$event" -W ".github/workflows/$wf" \
			-P ubuntu-latest=-self-hosted --pull=false --rebuild=false --json \
			--container-options "--network host -v $act_cache:$act_cache" \
			--var MIOSA_API_URL="$emu/api/v1" "$@"
	) 2>&1 | tee "$logs/$name.json" | act_text | tee "$logs/$name.log" | sed 's/^/    | /'
	return "${PIPESTATUS[0]}"
}

# act_text turns act's --json lines into its usual text (other lines pass as they are).
act_text() {
	jq -Rrj 'fromjson? // . | if type == "object" then
		(if .job then "[\(.job)] " else "" end) + (if .raw_output then "  | " else "" end) + (.msg // "" | tostring)
	else . end | if endswith("\n") then . else . + "\n" end'
}

# act_outputs NAME: the outputs steps of run NAME set, as one JSON object.
act_outputs() { jq -Rn '[inputs | fromjson? | select(type == "object" and .command == "set-output") | {(.name): .arg}] | add // {}' "$logs/$1.json"; }

# push_event writes the push payload GitHub would send for the workspace's
# HEAD: its commit and time, and the repository's default branch. act's own
# payload has neither, and a push run without a commit time (and without a
# token to ask GitHub for the commit order) writes nothing.
push_event() { # push_event OUT
	local sha when
	sha=$(git -C "$ws" rev-parse HEAD) && when=$(git -C "$ws" show -s --format=%cI HEAD) || return 1
	jq -n --arg sha "$sha" --arg when "$when" '{
		ref: "refs/heads/main", after: $sha,
		head_commit: {id: $sha, timestamp: $when},
		repository: {full_name: "miosa-dev/e2e-fixture", name: "e2e-fixture", default_branch: "main", owner: {login: "miosa-dev"}}
	}' >"$1"
}

act_push() {
	local before after
	setup_workspace "$tmp/ws" "$fixtures/push.yml" "$fixtures/pull_request.yml" || return 1
	push_event "$tmp/event-push.json" || fail "cannot write the push payload" || return 1
	before=$(counters)
	act_run act-push push push.yml -e "$tmp/event-push.json" -s MIOSA_API_KEY="$api_key" --var E2E_EXPECT=first || fail "act exited non-zero" || return 1
	after=$(counters)
	grep -q 'E2E-ASSERT first-run ok' "$logs/act-push.log" || fail "the output assertions did not run" || return 1
	info "counters: $(jq -c '{templates_created, builds_created, auto_builds, writes, replays, builds_by_template}' <<<"$after")"
	[[ $(counter '.templates_created' "$after") == 2 ]] || fail "expected 2 templates created" || return 1
	jq -e '.builds_by_template == {"e2e-alpha": 1, "e2e-beta": 1}' <<<"$after" >/dev/null || fail "expected exactly one build per template"
}

act_rerun() {
	local before after
	before=$(counters)
	local first
	first=$(sed -n 's/.*E2E-OUTPUTS //p' "$logs/act-push.log" | jq -c '.["build-ids"] | fromjson') ||
		{ fail "no build-ids output in the first run's log"; return 1; }
	act_run act-rerun push push.yml -e "$tmp/event-push.json" -s MIOSA_API_KEY="$api_key" --var E2E_EXPECT=rerun \
		--var E2E_FIRST_BUILD_IDS="$first" || fail "act exited non-zero" || return 1
	after=$(counters)
	grep -q 'E2E-ASSERT rerun ok' "$logs/act-rerun.log" || fail "the output assertions did not run" || return 1
	info "counters: $(jq -c '{templates_created, builds_created, writes, replays}' <<<"$after")"
	for field in templates_created builds_created writes; do
		[[ $(counter ".$field" "$before") == $(counter ".$field" "$after") ]] ||
			fail "$field changed on a re-run of the same commit: $(counter ".$field" "$before") -> $(counter ".$field" "$after")" || return 1
	done
}

act_pr() {
	local before after rc
	cp "$fixtures/broken/e2e-broken.yaml" "$ws/sandbox-templates/"
	(cd "$ws" && git add -A && git -c user.name=e2e -c user.email=e2e@example.invalid commit -qm "add a broken template") || return 1
	before=$(counters)
	act_run act-pr pull_request pull_request.yml -e "$fixtures/event-pull_request.json"
	rc=$?
	after=$(counters)
	((rc != 0)) || fail "act succeeded although a template is broken" || return 1
	grep -q 'E2E-PR outcome=failure' "$logs/act-pr.log" || fail "the action step did not fail (or did not run)" || return 1
	for line in 5 6; do
		grep -qE "sandbox-templates/e2e-broken\.yaml(:${line}:|,line=${line}[,:])" "$logs/act-pr.log" ||
			fail "the log does not name sandbox-templates/e2e-broken.yaml line $line" || return 1
	done
	info "problems named: $(grep -oE 'sandbox-templates/e2e-broken\.yaml(:[0-9]+:[0-9]+|,line=[0-9]+)' "$logs/act-pr.log" | sort -u | tr '\n' ' ')"
	[[ $(counter '.writes' "$before") == $(counter '.writes' "$after") ]] || fail "the pull request run wrote to the API"
}

# --- the workflows users copy, run under act as a user runs them -------------------
# One line per run, run in this order, one phase each:
#   WORKFLOW  a workflow file of this repository. scripts/act-workflow makes the one
#             change a local run needs and nothing else: the action's step gets the
#             emulator's api-url. Its `uses:` stays as users write it; act resolves
#             that reference to the workspace (--local-repository). The secret
#             MIOSA_API_KEY is given to act (-s), as a repository secret is given to a
#             real run, and so is a GitHub: GITHUB_API_URL is scripts/githubfake,
#             started for the run and seeded from the workspace's history (commits,
#             branches, and for a pull_request event the pull request: its head, and
#             its state), and GITHUB_TOKEN is its token.
#   EVENT     push (on main) or pull_request[:ACTION] (a pull request from a branch of
#             the same repository; ACTION is the payload's action, synchronize if none)
#   PREPARE   a function run first in the workspace (to commit a change), or -
#   CHECK     a function called as CHECK NAME RC BEFORE AFTER: $logs/NAME.log and
#             $logs/NAME.json are the run's logs ($(act_outputs NAME) the outputs its
#             steps set), RC act's exit code, BEFORE and AFTER the emulator's counters
#             around the run; $logs/NAME.state-before.json and NAME.state-after.json
#             the emulator's templates and builds ($emu/__emulator/state) around it;
#             $logs/NAME.github.json what the GitHub fake received (requests) and the
#             pull request's comments (scripts/githubfake -report)
# The runs share one workspace (a repository with the fixture templates in
# sandbox-templates/ and every WORKFLOW in .github/workflows/) and one emulator,
# reset to an empty account before the first. Each run has a GitHub fake of its
# own, so comments do not carry over from one run to the next. A WORKFLOW that does
# not exist fails its phase: when a file moves, change its line here. The pull
# request is number $pr_number, from the branch e2e-change-alpha.
user_runs=(
	"examples/workflows/sync-templates.yml      push                 -             check_quickstart_push"
	"examples/workflows/validate-templates.yml  pull_request         change_alpha  check_quickstart_pr"
	"testdata/workflows/e2e/preview.yml         pull_request:opened  change_alpha  check_preview_opened"
	"testdata/workflows/e2e/preview.yml         pull_request:closed  -             check_preview_closed"
)
# The examples that are not run under act, each with the reason. Every file in
# examples/workflows/ is in user_runs or here, or the users phase fails.
not_under_act=(
	"examples/workflows/release-templates.yml: a release writes only when GitHub, asked with the job's token, names it the latest release; the GitHub fake given to act here knows the workspace's commits, branches and tags, not releases (e2e/examples_test.go runs it against the GitHub fake with a release)"
)
pr_number=8

# pr_event OUT ACTION: the payload of a pull request from the workspace's branch to
# main, both in this repository (not a fork: the secret is there).
pr_event() {
	local head base
	head=$(git -C "$ws" rev-parse HEAD) && base=$(git -C "$ws" rev-parse main) || return 1
	jq -n --arg head "$head" --arg base "$base" --arg ref "$(git -C "$ws" branch --show-current)" \
		--arg action "$2" --argjson n "$pr_number" '
		{full_name: "miosa-dev/e2e-fixture", name: "e2e-fixture", fork: false, default_branch: "main", owner: {login: "miosa-dev"}} as $repo |
		{action: $action, number: $n,
		 pull_request: {number: $n, title: "e2e: change a template", state: (if $action == "closed" then "closed" else "open" end), merged: false,
		   head: {ref: $ref, sha: $head, repo: $repo}, base: {ref: "main", sha: $base, repo: $repo}},
		 repository: $repo}' >"$1"
}

commit_all() { (cd "$ws" && git add -A && git -c user.name=e2e -c user.email=e2e@example.invalid commit -qm "$1"); }

# change_alpha: the branch e2e-change-alpha, whose commit adds a step to e2e-alpha's
# build (its spec changes). Run again, it changes nothing.
change_alpha() {
	[[ "$(git -C "$ws" branch --show-current)" == e2e-change-alpha ]] || git -C "$ws" checkout -q -b e2e-change-alpha || return 1
	cp "$fixtures/changed/e2e-alpha.yaml" "$ws/sandbox-templates/e2e-alpha.yaml" || return 1
	git -C "$ws" diff --quiet || commit_all "e2e: change e2e-alpha"
}

# check_quickstart_push: the first sync of an empty account creates and builds both
# templates once, the outputs name them, and every step of the example passed.
check_quickstart_push() {
	local name=$1 rc=$2 before=$3 after=$4 out
	((rc == 0)) || fail "act exited $rc: a step of the example failed" || return 1
	out=$(act_outputs "$name")
	info "outputs: $(jq -c '{status, "changed-templates", "template-ids", "build-ids"}' <<<"$out")"
	jq -e '.status == "success"' <<<"$out" >/dev/null || fail "status is not success" || return 1
	jq -e '."changed-templates" | fromjson | sort == ["e2e-alpha", "e2e-beta"]' <<<"$out" >/dev/null ||
		fail "changed-templates does not name e2e-alpha and e2e-beta" || return 1
	jq -e '."template-ids" | fromjson | keys == ["e2e-alpha", "e2e-beta"] and all(.[]; . != "")' <<<"$out" >/dev/null ||
		fail "template-ids does not hold both templates" || return 1
	jq -e '."build-ids" | fromjson | keys == ["e2e-alpha", "e2e-beta"] and (.["e2e-alpha"] != .["e2e-beta"])' <<<"$out" >/dev/null ||
		fail "build-ids does not hold one build per template" || return 1
	info "counters: $(jq -c '{templates_created, builds_created, writes, builds_by_template}' <<<"$after")"
	(($(counter .templates_created "$after") - $(counter .templates_created "$before") == 2)) ||
		fail "expected 2 templates created" || return 1
	jq -e '.builds_by_template == {"e2e-alpha": 1, "e2e-beta": 1}' <<<"$after" >/dev/null || fail "expected exactly one build per template"
}

# check_quickstart_pr: the pull request's plan, online with the secret, names the
# changed template and writes nothing.
check_quickstart_pr() {
	local name=$1 rc=$2 before=$3 after=$4 out field
	((rc == 0)) || fail "act exited $rc: a step of the example failed" || return 1
	out=$(act_outputs "$name")
	info "outputs: $(jq -c '{status, "changes-count", plan}' <<<"$out")"
	jq -e '.status == "success"' <<<"$out" >/dev/null || fail "status is not success" || return 1
	jq -e '.plan | fromjson | map({(.name): .action}) | add | (.["e2e-alpha"] != "unchanged" and .["e2e-beta"] == "unchanged")' <<<"$out" >/dev/null ||
		fail "the plan does not show e2e-alpha changed and e2e-beta unchanged" || return 1
	for field in writes templates_created builds_created; do
		[[ $(counter ".$field" "$before") == $(counter ".$field" "$after") ]] ||
			fail "the pull request run changed $field: $(counter ".$field" "$before") -> $(counter ".$field" "$after")" || return 1
	done
	info "nothing written: writes $(counter .writes "$after")"
}

# preview_name TEMPLATE: the name of TEMPLATE's preview for pull request $pr_number
# (docs/previews.md): -prN- and six hex digits of the SHA-256 of the repository's
# full name in lower case.
preview_name() { printf '%s-pr%s-%s\n' "$1" "$pr_number" "$(printf '%s' "${fixture_repo,,}" | sha256sum | cut -c1-6)"; }

# main_untouched NAME [DELETED]: run NAME left the templates that were there before it
# (but DELETED, a preview it deleted) as they were: the same ids, names, specs and
# metadata, no new build, and each serving a build it had before or none yet. Their
# status and serving build are not compared as such: builds a run before this one
# queued go on to finish meanwhile.
main_untouched() {
	local name=$1 deleted=${2:-} changed
	changed=$(jq -c --arg gone "$deleted" --slurpfile after "$logs/$name.state-after.json" '
		def t: {id, name, slug, build_spec, metadata};
		def b: {id, template_id, template_name, build_spec, metadata};
		($after[0]) as $a | [.templates[] | select(.name != $gone)] as $main | [.builds[] | b] as $builds |
		[($main[] | t | select(. as $x | $a.templates | any(.[]; t == $x) | not) | "template \(.name)"),
		 ($a.builds[] | select(.template_id as $id | $main | any(.[]; .id == $id)) | select(b as $x | $builds | any(.[]; . == $x) | not) |
			"build \(.id) of \(.template_name)"),
		 ($a.templates[] | select(.id as $id | $main | any(.[]; .id == $id)) |
			select(.current_build_id != "" and (.current_build_id as $c | $builds | any(.[]; .id == $c) | not)) |
			"template \(.name) serves \(.current_build_id)")]' \
		"$logs/$name.state-before.json") || { fail "cannot read the emulator's state around $name"; return 1; }
	[[ "$changed" == "[]" ]] || fail "the run changed what main serves: $changed"
}

# check_preview_opened: the docs' preview workflow on opened builds one preview of
# the changed template, e2e-alpha, named after it, the pull request and the
# repository; its outputs and its last step name the preview and its build; main's
# templates keep their builds; GitHub was asked which files changed and whether the
# head is still the head, and the comment shows the preview.
check_preview_opened() {
	local name=$1 rc=$2 before=$3 after=$4 out preview tid bid comment
	((rc == 0)) || fail "act exited $rc: a step of the docs' preview workflow failed" || return 1
	preview=$(preview_name e2e-alpha)
	out=$(act_outputs "$name")
	info "outputs: $(jq -c '{status, "preview-template-ids", "preview-build-ids"}' <<<"$out")"
	tid=$(jq -er '."preview-template-ids" | fromjson | select(keys == ["e2e-alpha"]) | .["e2e-alpha"] | select(. != "")' <<<"$out") ||
		fail "preview-template-ids is not one non-empty id for e2e-alpha" || return 1
	bid=$(jq -er '."preview-build-ids" | fromjson | select(keys == ["e2e-alpha"]) | .["e2e-alpha"] | select(. != "")' <<<"$out") ||
		fail "preview-build-ids is not one non-empty id for e2e-alpha" || return 1
	info "preview $preview: template $tid, build $bid"
	jq -e --arg p "$preview" --arg id "$tid" '[.templates[] | select(.name | test("-pr[0-9]+-"))] |
		length == 1 and .[0].name == $p and .[0].id == $id' "$logs/$name.state-after.json" >/dev/null ||
		fail "the emulator does not hold exactly one preview, $preview with id $tid: $(jq -c '[.templates[] | {name, id}]' "$logs/$name.state-after.json")" || return 1
	jq -e --arg id "$tid" --arg b "$bid" '[.builds[] | select(.template_id == $id)] | length == 1 and .[0].id == $b and .[0].state == "ready"' \
		"$logs/$name.state-after.json" >/dev/null ||
		fail "the preview does not have exactly one build, $bid, ready: $(jq -c --arg id "$tid" '[.builds[] | select(.template_id == $id) | {id, state}]' "$logs/$name.state-after.json")" || return 1
	info "counters: $(jq -c '{templates_created, builds_created, writes, builds_by_template}' <<<"$after")"
	(($(counter .templates_created "$after") - $(counter .templates_created "$before") == 1)) || fail "expected 1 template created" || return 1
	(($(counter .builds_created "$after") - $(counter .builds_created "$before") == 1)) || fail "expected 1 build" || return 1
	main_untouched "$name" || return 1
	grep -qxF "e2e-alpha: preview template $tid" <(sed 's/^.*|  *//' "$logs/$name.log") &&
		grep -qxF "e2e-alpha: build $bid" <(sed 's/^.*|  *//' "$logs/$name.log") ||
		fail "the workflow's last step did not print the preview's template and build" || return 1
	jq -e '[.requests[] | select(.op == "compare" and .status == 200)] | length == 1' "$logs/$name.github.json" >/dev/null ||
		fail "GitHub was not asked once which files the pull request changes" || return 1
	jq -e --arg p "/repos/$fixture_repo/pulls/$pr_number" '[.requests[] | select(.path == $p and .status == 200)] | length >= 1' "$logs/$name.github.json" >/dev/null ||
		fail "GitHub was not asked for the pull request's head" || return 1
	comment=$(jq -r '[.comments[].body] | join("\n----\n")' "$logs/$name.github.json")
	[[ $(jq '.comments | length' "$logs/$name.github.json") == 1 && "$comment" == *"**Previews**"* && "$comment" == *"\`$preview\`"* &&
		"$comment" == *"$tid"* && "$comment" == *"$bid"* ]] ||
		fail "the pull request has not one comment whose Previews section names $preview, $tid and $bid: $comment" || return 1
	info "one preview built; main's templates as they were; the comment shows it"
}

# check_preview_closed: the docs' preview workflow on closed deletes the preview,
# and nothing else: no other write, main's templates as they were, no write to GitHub.
check_preview_closed() {
	local name=$1 rc=$2 before=$3 after=$4 out preview field
	((rc == 0)) || fail "act exited $rc: a step of the docs' preview workflow failed" || return 1
	preview=$(preview_name e2e-alpha)
	out=$(act_outputs "$name")
	info "outputs: $(jq -c '{status}' <<<"$out")"
	jq -e '.status == "success"' <<<"$out" >/dev/null || fail "status is not success" || return 1
	jq -e --arg p "$preview" '[.templates[] | select(.name == $p)] | length == 1' "$logs/$name.state-before.json" >/dev/null ||
		fail "there was no preview $preview to delete" || return 1
	jq -e '[.templates[] | select(.name | test("-pr[0-9]+-"))] | length == 0' "$logs/$name.state-after.json" >/dev/null ||
		fail "a preview is still there: $(jq -c '[.templates[] | .name]' "$logs/$name.state-after.json")" || return 1
	info "counters: $(jq -c '{templates_deleted, templates_created, builds_created, writes}' <<<"$after")"
	(($(counter .templates_deleted "$after") - $(counter .templates_deleted "$before") == 1)) || fail "expected 1 template deleted" || return 1
	(($(counter .writes "$after") - $(counter .writes "$before") == 1)) || fail "expected one write, the delete" || return 1
	main_untouched "$name" "$preview" || return 1
	grep -q "Deleted preview $preview " "$logs/$name.log" || fail "the log does not say $preview was deleted" || return 1
	# The workflow checks out nothing on closed (a closed pull request's merge ref may be
	# gone): the action ran without a checkout, as it runs on GitHub.
	! grep -q 'Run Main actions/checkout@' "$logs/$name.log" || fail "the workflow checked out on closed" || return 1
	jq -e '[.requests[] | select(.method != "GET")] | length == 0' "$logs/$name.github.json" >/dev/null ||
		fail "the closed run wrote to GitHub" || return 1
	info "the preview deleted, nothing else written"
}

# users_setup: the shared workspace and an empty account for the user_runs.
users_setup() {
	local line file listed=() bad=0 f
	for line in "${user_runs[@]}"; do
		read -r file _ <<<"$line"
		listed+=("$file")
		[[ -f "$repo_root/$file" ]] || { fail "$file does not exist (renamed? change its line in user_runs)"; bad=1; }
	done
	for line in "${not_under_act[@]}"; do listed+=("${line%%:*}"); done
	for f in "$repo_root"/examples/workflows/*.yml "$repo_root"/examples/workflows/*.yaml; do
		[[ -e "$f" ]] || continue
		f=${f#"$repo_root/"}
		printf '%s\n' "${listed[@]}" | grep -qxF "$f" ||
			{ fail "$f is in neither user_runs nor not_under_act of scripts/e2e-act.sh"; bad=1; }
	done
	((bad == 0)) || return 1
	curl -fsS -X POST "$emu/__emulator/reset" >/dev/null || { fail "cannot reset the emulator"; return 1; }
	setup_workspace "$tmp/ws-users" || return 1
	mkdir -p "$tmp/workflows"
	local refs=() ref rc
	for file in "${listed[@]:0:${#user_runs[@]}}"; do
		f="$tmp/workflows/$(basename "$file")"
		[[ -e "$f" ]] && continue
		# act-workflow prints the action's references the workflow uses, one a line.
		"$tmp/act-workflow" -api-url "$emu/api/v1" -o "$f" "$repo_root/$file" >"$logs/act-workflow.refs" 2>"$logs/act-workflow.err"
		rc=$?
		sed 's/^/    /' "$logs/act-workflow.err"
		((rc == 0)) || { fail "scripts/act-workflow cannot rewrite $file"; return 1; }
		diff -u "$repo_root/$file" "$f" | sed -n 's/^\([-+][^-+]\)/      \1/p'
		cp "$f" "$ws/.github/workflows/"
		while read -r ref; do
			[[ -n "$ref" ]] && ! printf '%s\n' "${refs[@]}" | grep -qxF "$ref" && refs+=("$ref")
		done <"$logs/act-workflow.refs"
	done
	# act reads each reference's action.yml from the workspace, and runs the image of
	# phase 3 under the name act gives that action's image.
	local_repos=()
	for ref in "${refs[@]}"; do
		local_repos+=(--local-repository "$ref=$ws")
		"$repo_root/scripts/action-image.sh" tag "$image" "$(act_image_of "$ref")" "$ledger" ||
			{ fail "cannot tag $image as $(act_image_of "$ref")"; return 1; }
		info "$ref: act reads it from $ws and runs $(act_image_of "$ref")"
	done
	commit_all "e2e: the workflows users copy" || return 1
	info "workspace $ws at $(git -C "$ws" rev-parse --short HEAD), emulator reset"
}

# act_image_of OWNER/REPO@REF: the name act gives the image of that Docker action
# (act-, the reference with each character but letters and digits made "-",
# -dockeraction:latest, in lower case), which it builds unless it exists.
act_image_of() {
	local n
	n=$(LC_ALL=C sed 's/[^A-Za-z0-9]/-/g; s/^-*//' <<<"$1")
	n="act-$n-dockeraction:latest"
	echo "${n,,}"
}

# start_githubfake NAME [PAYLOAD]: a GitHub for run NAME (scripts/githubfake), seeded
# from the workspace's history and, given a pull_request PAYLOAD, its pull request;
# sets gh_url and gh_pid. Its log is $logs/NAME.github.log; stop_githubfake stops it,
# and it writes $logs/NAME.github.json then.
gh_url="" gh_pid="" local_repos=()
start_githubfake() {
	local name=$1 payload=${2:-}
	gh_url=""
	"$tmp/githubfake" -repo "$ws" -repository "$fixture_repo" -token "$gh_token" ${payload:+-event "$payload"} \
		-report "$logs/$name.github.json" >"$logs/$name.github.log" 2>&1 &
	gh_pid=$!
	pids+=("$gh_pid")
	for _ in $(seq 100); do
		gh_url=$(sed -n 's|^githubfake listening on \(http://127\.0\.0\.1:[0-9][0-9]*\)$|\1|p' "$logs/$name.github.log" | head -1)
		if [[ -n "$gh_url" ]]; then
			info "GitHub fake on $gh_url, $(sed -n 's/^githubfake: //p' "$logs/$name.github.log" | head -1)"
			return 0
		fi
		kill -0 "$gh_pid" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/    githubfake: /' "$logs/$name.github.log"
	stop_githubfake
	fail "the GitHub fake did not start"
}

stop_githubfake() {
	[[ -n "$gh_pid" ]] || return 0
	local p keep=()
	kill -TERM "$gh_pid" 2>/dev/null
	wait "$gh_pid" 2>/dev/null
	for p in "${pids[@]}"; do [[ "$p" == "$gh_pid" ]] || keep+=("$p"); done
	pids=("${keep[@]}")
	gh_pid=""
}

user_run() { # user_run WORKFLOW EVENT PREPARE CHECK
	local file=$1 event=${2%%:*} action=${2#*:} prepare=$3 check=$4 name payload before after rc fake_event
	[[ "$action" == "$2" ]] && action=synchronize
	name=$(basename "$file" .yml)-${2//:/-}
	[[ -f "$repo_root/$file" ]] || { fail "$file does not exist (renamed? change its line in user_runs)"; return 1; }
	if [[ "$prepare" != - ]]; then "$prepare" || { fail "$prepare failed"; return 1; }; fi
	payload="$tmp/event-$name.json"
	case $event in
	push) push_event "$payload" ;;
	pull_request) pr_event "$payload" "$action" ;;
	*) fail "no payload for the event $event"; return 1 ;;
	esac || { fail "cannot write the $event payload"; return 1; }
	fake_event=()
	[[ $event == pull_request ]] && fake_event=("$payload")
	start_githubfake "$name" "${fake_event[@]}" || return 1
	curl -fsS "$emu/__emulator/state" >"$logs/$name.state-before.json" || { stop_githubfake; fail "cannot read the emulator's state"; return 1; }
	before=$(counters)
	act_run "$name" "$event" "$(basename "$file")" -e "$payload" -s MIOSA_API_KEY="$api_key" \
		-s GITHUB_TOKEN="$gh_token" --env GITHUB_API_URL="$gh_url" "${local_repos[@]}"
	rc=$?
	after=$(counters)
	curl -fsS "$emu/__emulator/state" >"$logs/$name.state-after.json"
	stop_githubfake
	info "GitHub: $(jq -c '[.requests[] | "\(.method) \(.op // "?") \(.status)"] | group_by(.) | map({(.[0]): length}) | add // {}' "$logs/$name.github.json" 2>/dev/null)"
	"$check" "$name" "$rc" "$before" "$after"
}

# act_builds: act built no image in any run (each used the image of the image phase).
act_builds() {
	local n
	n=$(cat "$logs"/*.log 2>/dev/null | grep -c 'docker build -t ')
	info "act's own image builds: $n"
	((n == 0)) || fail "act built the image itself $n time(s): it must use $act_image (--rebuild=false)"
}

# --- run -------------------------------------------------------------------------
echo "e2e-act: repo $repo_root, act $("$ACT" --version | awk '{print $NF}'), docker $(docker version -f '{{.Server.Version}}'), temp $tmp"
svc="" img="" # why the emulator / the image is unavailable
phase binary build_binary "" || svc="the binary does not build"
phase emulator start_emulator "$svc" || svc=${svc:-"the emulator is not running"}
phase image build_image "" || img="the image does not build"
phase image-fs image_fs "$img"
phase tls tls_check "$img${img:+; }$svc"
phase act-push act_push "$img${img:+; }$svc"
[[ -n "${ws:-}" ]] || svc="$svc${svc:+; }no act workspace"
phase act-rerun act_rerun "$img${img:+; }$svc"
phase act-pr act_pr "$img${img:+; }$svc"
phase users users_setup "$img${img:+; }$svc" || img="$img${img:+; }no workspace for the user workflows"
for line in "${user_runs[@]}"; do
	read -r file event prepare check <<<"$line"
	run_user() { user_run "$file" "$event" "$prepare" "$check"; }
	phase "$(basename "$file" .yml) $event" run_user "$img${img:+; }$svc"
done
phase act-builds act_builds "$img"

# --- summary ---------------------------------------------------------------------
say "summary"
failed=0
for i in "${!names[@]}"; do
	printf '    %-40s %-4s %4ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
	[[ "${results[$i]}" == PASS ]] || failed=1
done
if ((failed)); then
	echo "e2e-act: FAILED (logs in $logs; run with E2E_KEEP=1 to keep them)"
	exit 1
fi
echo "e2e-act: all phases passed"
