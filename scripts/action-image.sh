#!/usr/bin/env bash
# Build the action's image (the real Dockerfile) once, and remove afterwards exactly
# what was made for it. .ci/run builds it once for scripts/e2e-act.sh and
# scripts/release-dry-run.sh (ACTION_IMAGE, ACTION_IMAGE_VERSION); each script run on
# its own builds it with this script too and cleans up at its exit.
#
#   action-image.sh build TAG VERSION LEDGER [DIR]
#       the builder base (a local stand-in from scripts/docker-standins/, or
#       E2E_PULL_BASE=1 pulls the real one), then `docker build --build-arg
#       VERSION=VERSION -t TAG` of the files git sees in DIR (tracked and new, not
#       ignored: what a clone holds; DIR is this repository unless given)
#   action-image.sh tag IMAGE NAME LEDGER
#       tag IMAGE as NAME too (act's name for the image of `uses: ./`)
#   action-image.sh clean LEDGER
#       undo what LEDGER records, newest first
#
# LEDGER is a file of lines this script appends, one per thing it made:
#   image ID           an image that did not exist before (the builder stages' untagged
#                      images, the final image, a new stand-in): removed with `docker rmi`
#   tag NAME [OLD_ID]  a tag it set: removed, or pointed back at OLD_ID when NAME
#                      named another image before
# Images that existed before (a cache hit on an older image, a real golang image, an
# up-to-date stand-in) are not recorded, so clean never removes what it did not make.
# `docker rmi` without --force: an image something else now uses is left, with a note.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[action-image] %s\n' "$*" >&2; }
die() { printf '[action-image] ERROR: %s\n' "$*" >&2; exit 1; }

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# record_tag NAME: note NAME's current image (if any) before it is re-pointed.
record_tag() { printf 'tag %s %s\n' "$1" "$(image_id "$1")" >>"$ledger"; }

build() {
	local tag=$1 version=$2 dir=${3:-$repo_root} before base base_before ctx rc id
	before=$(docker images -aq --no-trunc | sort -u)
	base=$(awk 'toupper($1)=="FROM"{print $2; exit}' "$dir/Dockerfile")
	[[ -n "$base" ]] || die "no FROM line in $dir/Dockerfile"
	base_before=$(image_id "$base")
	if [[ "${E2E_PULL_BASE:-}" == 1 ]]; then
		docker pull -q "$base" >&2 || die "docker pull $base"
	else
		STANDIN_IMAGE=$base "$repo_root/scripts/docker-standins/build-golang-standin.sh" || die "cannot make the stand-in for $base"
	fi
	if [[ "$(image_id "$base")" != "$base_before" ]]; then
		printf 'tag %s %s\n' "$base" "$base_before" >>"$ledger"
		printf 'image %s\n' "$(image_id "$base")" >>"$ledger"
	fi

	# The build context: the files a clone of the working tree holds.
	ctx=$(mktemp -d "${TMPDIR:-/tmp}/action-image.XXXXXX")
	(cd "$dir" && git ls-files -z --cached --others --exclude-standard --deduplicate |
		while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -C "$ctx" -xf -

	record_tag "$tag"
	local start=$SECONDS full
	# --force-rm: a failed step's container is removed too. The classic builder prints
	# " ---> ID" for each layer it makes or reuses; the new ones go to the ledger.
	rc=0
	docker build --force-rm --build-arg "VERSION=$version" -t "$tag" "$ctx" >"$ctx.log" 2>&1 || rc=$?
	while read -r id; do
		full=$(image_id "$id")
		if [[ -n "$full" ]] && ! grep -qxF "$full" <<<"$before"; then
			printf 'image %s\n' "$full" >>"$ledger"
		fi
	done < <(sed -nE 's/^ ---> ([0-9a-f]{12})$/\1/p; s/^Successfully built ([0-9a-f]{12})$/\1/p' "$ctx.log" | awk '!seen[$0]++')
	rm -rf "$ctx"
	if ((rc != 0)); then
		tail -30 "$ctx.log" >&2
		rm -f "$ctx.log"
		die "docker build failed"
	fi
	rm -f "$ctx.log"
	log "built $tag (VERSION=$version, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.1f MB", $1/1e6}')) in $((SECONDS - start))s"
}

tag() {
	local src=$1 name=$2
	record_tag "$name"
	docker tag "$src" "$name"
}

clean() {
	local kind name old removed=0 kept=0
	[[ -s "$ledger" ]] || return 0
	# Newest first: a tag goes before the images under it, a child before its parent.
	while read -r kind name old; do
		case $kind in
		tag)
			if [[ -n "${old:-}" && -n "$(image_id "$old")" ]]; then
				docker tag "$old" "$name" && log "$name points at ${old:7:12} again"
			elif [[ -n "$(image_id "$name")" ]]; then
				docker rmi "$name" >/dev/null 2>&1 || { log "kept $name (in use)"; kept=$((kept + 1)); }
			fi
			;;
		image)
			[[ -n "$(image_id "$name")" ]] || continue # gone with its child
			if docker rmi "$name" >/dev/null 2>&1; then
				removed=$((removed + 1))
			else
				log "kept ${name:7:12} (in use or tagged by something else)"
				kept=$((kept + 1))
			fi
			;;
		esac
	done < <(tac "$ledger")
	log "cleaned up: $(grep -c '^tag ' "$ledger") tag(s) undone, $(grep -c '^image ' "$ledger") image(s) made: $removed removed by id, the rest with them; $kept kept"
	: >"$ledger"
}

cmd=${1:-}
case $cmd in
build) (($# == 4 || $# == 5)) || die "usage: action-image.sh build TAG VERSION LEDGER [DIR]"; ledger=$4; build "$2" "$3" "${5:-}" ;;
tag) (($# == 4)) || die "usage: action-image.sh tag IMAGE NAME LEDGER"; ledger=$4; tag "$2" "$3" ;;
clean) (($# == 2)) || die "usage: action-image.sh clean LEDGER"; ledger=$2; clean ;;
*) die "usage: action-image.sh build|tag|clean ..." ;;
esac
