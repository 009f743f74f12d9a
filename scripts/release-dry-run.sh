#!/usr/bin/env bash
# Dry run of the release (.github/workflows/release.yml) on this machine, with no
# registry: every step the release takes, with the same scripts, except the pushes to
# GHCR and GitHub. The "origin" is a scratch bare repository.
#
#   1. repo     a scratch repository holding the working tree (tracked and new files)
#               as one commit SHA on main, a bare origin tagged vX.Y.Z at SHA, and a
#               clone of it checked out at SHA (what actions/checkout does with
#               `ref: github.sha` and `fetch-depth: 0`)
#   2. state    scripts/release.sh state: not released yet, vX follows
#   3. build    docker build --build-arg VERSION=vX.Y.Z of that clone (release-image.sh
#               builds the same Dockerfile with the same argument), by
#               scripts/action-image.sh: the builder base is a local stand-in from
#               scripts/docker-standins/ unless E2E_PULL_BASE=1 pulls the real one.
#               .ci/run builds that image once for this script and scripts/e2e-act.sh
#               (ACTION_IMAGE, with ACTION_IMAGE_VERSION=vX.Y.Z) from the same files
#   4. run      scripts/release.sh verify: the image's `version` prints vX.Y.Z, and it
#               is for this machine's platform (the verify jobs run this on each
#               architecture, on the image pulled by digest without credentials)
#   5. publish  scripts/release.sh publish --push with docker://ghcr.io/OWNER/REPO@
#               sha256:<the image id>: release commit, tags pushed to the origin
#   6. check    the release commit's parent is SHA and its diff is exactly
#               `-  image: Dockerfile` / `+  image: docker://...`; the origin's vX.Y.Z
#               and vX point at it; the pinned action.yml says the reference
#   7. rerun    a fresh clone: state says released=true with the same image and commit
#               (a re-run builds nothing and moves no tag)
#   8. older    a later patch of an older line (v0.0.9 after v0.1.0): released, but vX
#               does not move back
#
# Usage: scripts/release-dry-run.sh     (needs docker, git, go; about a minute)
# Env:   CI=true          missing docker is a failure, not a skip
#        ACTION_IMAGE=name, ACTION_IMAGE_VERSION=vX.Y.Z
#                         use this image of the Dockerfile instead of building one (its
#                         VERSION must be this script's tag, v0.1.0); unset: build it
#                         here and remove what the build made at exit
#        E2E_PULL_BASE=1  docker pull the real golang base image instead of a stand-in
#        DRYRUN_KEEP=1    keep the scratch directory
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scripts=$repo_root/scripts
tag=v0.1.0 older=v0.0.9 major=v0
image=${ACTION_IMAGE:-sandbox-templates-action:release-dry-run-$$}
repository=miosa-dev/sandbox-templates-action

say() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
fail() { printf 'release-dry-run: FAIL: %s\n' "$*" >&2; exit 1; }

if ! { command -v docker >/dev/null && docker info >/dev/null 2>&1; }; then
	[[ "${CI:-}" == true ]] && fail "docker (with a running engine) is missing"
	echo "release-dry-run: SKIP: docker (with a running engine) is missing (set CI=true to make this a failure)" >&2
	exit 0
fi
for tool in git go tar; do command -v "$tool" >/dev/null || fail "$tool is missing"; done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/release-dry-run.XXXXXX")
cleanup() {
	"$scripts/action-image.sh" clean "$tmp/docker-ledger"
	if [[ "${DRYRUN_KEEP:-}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
start=$SECONDS
export GIT_AUTHOR_NAME=release-dry-run GIT_AUTHOR_EMAIL=dry-run@example.invalid
export GIT_COMMITTER_NAME=release-dry-run GIT_COMMITTER_EMAIL=dry-run@example.invalid
git_q() { git -c init.defaultBranch=main -c advice.detachedHead=false "$@"; }
# get KEY OUTPUT: the value of KEY=... in key=value lines.
get() { sed -n "s/^$1=//p" <<<"$2"; }

say "repo"
src=$tmp/src
mkdir -p "$src"
# Tracked and new files as they are now (a deleted file is left out), as e2e-act.sh does.
(cd "$repo_root" && git ls-files -z --cached --others --exclude-standard --deduplicate |
	while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -C "$src" -xf - || fail "cannot copy the working tree"
(cd "$src" && git_q init -q && git_q add -A && git_q commit -qm "the working tree") || fail "cannot make the scratch repository"
sha=$(git -C "$src" rev-parse HEAD)
git_q clone -q --bare "$src" "$tmp/origin.git"
git -C "$tmp/origin.git" tag -a "$tag" -m "$tag" "$sha" # the maintainer's tag push
git_q clone -q "$tmp/origin.git" "$tmp/work"
git_q -C "$tmp/work" checkout -q --detach "$sha"
info "SHA $sha, origin $tmp/origin.git, tag $tag"

say "state"
out=$(cd "$tmp/work" && "$scripts/release.sh" state "$tag" "$sha" main) || fail "release.sh state failed"
info "$(tr '\n' ' ' <<<"$out")"
[[ "$(get released "$out")" == false && "$(get major "$out")" == "$major" && "$(get move-major "$out")" == true ]] ||
	fail "state before the release: want released=false major=$major move-major=true"

say "build"
build_start=$SECONDS
if [[ -n "${ACTION_IMAGE:-}" ]]; then
	[[ "${ACTION_IMAGE_VERSION:-}" == "$tag" ]] ||
		fail "ACTION_IMAGE=$ACTION_IMAGE was built with VERSION=${ACTION_IMAGE_VERSION:-?}; the dry run releases $tag"
	docker image inspect "$image" >/dev/null 2>&1 || fail "ACTION_IMAGE=$image does not exist"
	info "$image: built once by the caller from the same files, VERSION=$tag"
else
	"$scripts/action-image.sh" build "$image" "$tag" "$tmp/docker-ledger" "$tmp/work" ||
		fail "docker build --build-arg VERSION=$tag failed"
fi
id=$(docker image inspect -f '{{.Id}}' "$image")
info "$image = $id in $((SECONDS - build_start))s"

say "run"
platform=$(docker version -f '{{.Server.Os}}/{{.Server.Arch}}')
"$scripts/release.sh" verify "$id" "$tag" "$platform" || fail "the image does not print $tag"

say "publish"
ref="docker://ghcr.io/$repository@$id"
out=$(cd "$tmp/work" && "$scripts/release.sh" publish "$tag" "$ref" --push) || fail "release.sh publish failed"
info "$(tr '\n' ' ' <<<"$out")"
commit=$(get commit "$out")
[[ "$(get tags "$out")" == "$tag $major" ]] || fail "publish moved '$(get tags "$out")', want '$tag $major'"

say "check"
o() { git -C "$tmp/origin.git" "$@"; }
[[ "$(o rev-parse "$commit^")" == "$sha" ]] || fail "the release commit's parent is not $sha"
for t in "$tag" "$major"; do
	[[ "$(o rev-parse "refs/tags/$t^{commit}")" == "$commit" ]] || fail "origin's $t does not point at the release commit"
	[[ "$(o cat-file -t "refs/tags/$t")" == tag ]] || fail "origin's $t is not an annotated tag"
done
diff=$(o diff "$sha" "$commit" | grep -E '^[-+]' | grep -vE '^(---|\+\+\+) ')
indent=$(sed -nE 's/^-( +)image: Dockerfile$/\1/p' <<<"$diff")
[[ -n "$indent" && "$diff" == "-${indent}image: Dockerfile"$'\n'"+${indent}image: $ref" ]] ||
	fail "the release commit's diff is not action.yml's image line:
$diff"
[[ "$(o diff --name-only "$sha" "$commit")" == action.yml ]] || fail "the release commit changes more than action.yml"
o show "$commit:action.yml" >"$tmp/pinned.yml"
[[ "$("$scripts/pin-action-image.sh" --print "$tmp/pinned.yml")" == "$ref" ]] || fail "the pinned action.yml does not say $ref"
info "release commit $commit: action.yml image: $ref"

say "rerun"
git_q clone -q "$tmp/origin.git" "$tmp/rerun"
git_q -C "$tmp/rerun" checkout -q --detach "$sha"
out=$(cd "$tmp/rerun" && "$scripts/release.sh" state "$tag" "$sha" main) || fail "release.sh state failed on the re-run"
info "$(tr '\n' ' ' <<<"$out")"
[[ "$(get released "$out")" == true && "$(get ref "$out")" == "$ref" && "$(get commit "$out")" == "$commit" ]] ||
	fail "the re-run's state is not released=true with the same image and commit"
# publish itself refuses a tag that already points at a release commit.
if (cd "$tmp/rerun" && "$scripts/release.sh" publish "$tag" "$ref") >/dev/null 2>&1; then
	fail "publish on an already released tag did not refuse"
fi

say "older"
# A patch of an older line after this release: vX must stay on the newer release.
(cd "$src" && git_q commit -q --allow-empty -m "a later fix" && git_q push -q "$tmp/origin.git" HEAD:main) || fail "cannot add a commit"
sha2=$(git -C "$src" rev-parse HEAD)
o tag -a "$older" -m "$older" "$sha2"
git_q clone -q "$tmp/origin.git" "$tmp/older"
git_q -C "$tmp/older" checkout -q --detach "$sha2"
ref2="docker://ghcr.io/$repository@sha256:$(printf '%064d' 9)"
out=$(cd "$tmp/older" && "$scripts/release.sh" state "$older" "$sha2" main) || fail "release.sh state failed for $older"
[[ "$(get released "$out")" == false && "$(get move-major "$out")" == false ]] || fail "state of $older: want released=false move-major=false"
out=$(cd "$tmp/older" && "$scripts/release.sh" publish "$older" "$ref2" --push) || fail "release.sh publish failed for $older"
[[ "$(get tags "$out")" == "$older" ]] || fail "publishing $older moved '$(get tags "$out")', want only $older"
[[ "$(o rev-parse "refs/tags/$major^{commit}")" == "$commit" ]] || fail "$major moved back to $older"
info "$older released as $(get commit "$out"); $major stays at $commit"

say "guards"
# A tag that moved after the clone fetched it is not overwritten, and nothing moves.
guard=v0.2.0
o tag "$guard" "$sha2"
git_q clone -q "$tmp/origin.git" "$tmp/guard"
git_q -C "$tmp/guard" checkout -q --detach "$sha2"
o tag -f "$guard" "$sha" >/dev/null # someone re-points it meanwhile
before=$(o for-each-ref --format='%(refname) %(objectname)' refs/tags)
if (cd "$tmp/guard" && "$scripts/release.sh" publish "$guard" "$ref2" --push) >"$tmp/guard.log" 2>&1; then
	fail "publish overwrote a tag that moved after the clone fetched it"
fi
[[ "$(o for-each-ref --format='%(refname) %(objectname)' refs/tags)" == "$before" ]] || fail "a refused push moved a tag"
# State refuses a tag that points at neither SHA nor a release commit made from it.
if (cd "$tmp/guard" && git fetch -q --force origin "+refs/tags/*:refs/tags/*" && "$scripts/release.sh" state "$guard" "$sha2" main) >>"$tmp/guard.log" 2>&1; then
	fail "state accepted $guard pointing at another commit"
fi
grep -q 'stale info\|rejected' "$tmp/guard.log" || fail "the refused push did not say why: $(cat "$tmp/guard.log")"
grep -q 'neither' "$tmp/guard.log" || fail "state did not say why it refused: $(cat "$tmp/guard.log")"
info "a moved tag is not overwritten; a tag on another commit is refused"

echo "release-dry-run: all steps passed in $((SECONDS - start))s"
