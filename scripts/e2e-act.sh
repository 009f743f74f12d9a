#!/usr/bin/env bash
# End-to-end test of the Docker action under a real GitHub Actions runner (act).
#
# What it proves, in order:
#   1. binary      the CLI builds on the host (it serves the local API emulator)
#   2. emulator    `sandbox-templates emulator` answers on 127.0.0.1
#   3. base        the Dockerfile's builder base image exists (a local stand-in from
#                  scripts/docker-standins/ when no registry is reachable; E2E_PULL_BASE=1
#                  pulls the real one instead)
#   4. image       the real Dockerfile builds; the image is under 25 MB
#   5. image-fs    the image holds /etc/ssl/certs/ca-certificates.crt and the binary
#   6. tls         `plan` in the image reaches an HTTPS emulator whose test CA is supplied
#                  with SSL_CERT_FILE, and refuses it when the CA is not supplied
#   7. act-push    act runs `uses: ./` on a push: templates created and built, outputs
#                  checked with fromJSON in later steps, server counters checked
#   8. act-rerun   the same commit again: no new template, no new build (server counters),
#                  the same build-ids output (the first run's builds, found serving)
#   9. act-pr      pull_request event, broken template, no secret (a fork): the step
#                  fails and the log names file:line of each problem
#
# Usage:   scripts/e2e-act.sh            (from anywhere; needs docker, act, go, git, jq, curl)
# Env:     CI=true          install act if missing; missing docker/act is a failure, not a skip
#          ACT=path         the act binary (default: act on PATH, else ~/go/bin/act)
#          E2E_PULL_BASE=1  docker pull the real golang base image instead of a stand-in
#          E2E_PORT=N       a fixed emulator port (N+1 for the HTTPS front); by default the
#                           emulator and the HTTPS front each take a free port
#          E2E_KEEP=1       keep the temporary directory (logs, workspace)
# Install act: go install github.com/nektos/act@v0.2.89
#
# How act runs here (verified with act v0.2.89):
# - `-P ubuntu-latest=-self-hosted` runs the job's `run:` steps on the host (no job
#   image). The Docker action (`uses: ./`) is still built from the Dockerfile and run
#   with `docker run`.
# - In that mode act starts the action container on the default bridge network (not
#   host) and hands it GITHUB_OUTPUT / GITHUB_WORKSPACE paths under act's cache
#   directory on the host, which it does not mount. `--container-options` adds
#   `--network host` (so 127.0.0.1 is the emulator) and a bind of act's cache directory
#   at the same path (so those files exist in the container). XDG_CACHE_HOME points
#   act's cache into our temporary directory.
# - act does not fetch actions/checkout when it checks out the repository being run: it
#   copies the working directory into the job's workspace, so the workflows keep the
#   same checkout step a real workflow has, and no network is needed.
set -uo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fixtures="$repo_root/testdata/workflows/e2e"
port=${E2E_PORT:-}                          # empty: the emulator takes a free port
tls_port=${E2E_PORT:+$((E2E_PORT + 1))}     # empty: free_port picks one
emu=""                                      # http://127.0.0.1:PORT once the emulator listens
version="e2e-$$"                            # stamped into the image with -X main.version
api_key="msk_e2e_$(date +%s)"
image=sandbox-templates-action:test
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
pids=()
containers=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
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
	(cd "$repo_root" && go build -o "$tmp/sandbox-templates" .) 2>&1 | sed 's/^/    /'
	[[ ${PIPESTATUS[0]} == 0 ]] || fail "go build failed (is main.go complete?)"
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

base_image() {
	local base
	base=$(awk 'toupper($1)=="FROM"{print $2; exit}' "$repo_root/Dockerfile")
	if [[ "${E2E_PULL_BASE:-}" == 1 ]]; then
		docker pull -q "$base" | sed 's/^/    /'
		return "${PIPESTATUS[0]}"
	fi
	"$repo_root/scripts/docker-standins/build-golang-standin.sh" 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

build_image() {
	local size
	(cd "$repo_root" && docker build --build-arg "VERSION=$version" -t "$image" .) >"$logs/docker-build.log" 2>&1 ||
		{ tail -30 "$logs/docker-build.log" | sed 's/^/    /'; fail "docker build failed"; return 1; }
	size=$(docker image inspect -f '{{.Size}}' "$image")
	info "image $image: $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.1f MB", s/1e6}'))"
	((size < max_image_bytes)) || fail "image is larger than 25 MB"
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

setup_workspace() {
	ws="$tmp/ws"
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
	cp "$fixtures/push.yml" "$fixtures/pull_request.yml" "$ws/.github/workflows/"
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
			-P ubuntu-latest=-self-hosted --pull=false \
			--container-options "--network host -v $act_cache:$act_cache" \
			--var MIOSA_API_URL="$emu/api/v1" "$@"
	) 2>&1 | tee "$logs/$name.log" | sed 's/^/    | /'
	return "${PIPESTATUS[0]}"
}

# push_event writes the push payload GitHub would send for the workspace's
# HEAD: its commit and time, and the repository's default branch. act's own
# payload has neither, and a push run without a commit time (and without a
# token to ask GitHub for the commit order) writes nothing.
push_event() {
	local sha when
	sha=$(git -C "$ws" rev-parse HEAD) && when=$(git -C "$ws" show -s --format=%cI HEAD) || return 1
	jq -n --arg sha "$sha" --arg when "$when" '{
		ref: "refs/heads/main", after: $sha,
		head_commit: {id: $sha, timestamp: $when},
		repository: {full_name: "miosa-dev/e2e-fixture", name: "e2e-fixture", default_branch: "main", owner: {login: "miosa-dev"}}
	}' >"$tmp/event-push.json"
}

act_push() {
	local before after
	setup_workspace || return 1
	push_event || fail "cannot write the push payload" || return 1
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

# --- run -------------------------------------------------------------------------
echo "e2e-act: repo $repo_root, act $("$ACT" --version | awk '{print $NF}'), docker $(docker version -f '{{.Server.Version}}'), temp $tmp"
svc="" img="" # why the emulator / the image is unavailable
phase binary build_binary "" || svc="the binary does not build"
phase emulator start_emulator "$svc" || svc=${svc:-"the emulator is not running"}
phase base base_image "" || img="no builder base image"
phase image build_image "$img" || img=${img:-"the image does not build"}
phase image-fs image_fs "$img"
phase tls tls_check "$img${img:+; }$svc"
phase act-push act_push "$img${img:+; }$svc"
[[ -n "${ws:-}" ]] || svc="$svc${svc:+; }no act workspace"
phase act-rerun act_rerun "$img${img:+; }$svc"
phase act-pr act_pr "$img${img:+; }$svc"

# --- summary ---------------------------------------------------------------------
say "summary"
failed=0
for i in "${!names[@]}"; do
	printf '    %-10s %-4s %4ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
	[[ "${results[$i]}" == PASS ]] || failed=1
done
if ((failed)); then
	echo "e2e-act: FAILED (logs in $logs; run with E2E_KEEP=1 to keep them)"
	exit 1
fi
echo "e2e-act: all phases passed"
