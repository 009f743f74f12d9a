#!/usr/bin/env bash
# The git and image checks of a release, shared by .github/workflows/release.yml and
# its dry run (scripts/release-dry-run.sh), so that the dry run exercises the same code.
# Run it at the root of a clone whose branches and tags are fetched (actions/checkout
# with `ref: github.sha` and `fetch-depth: 0`). Logs go to stderr; key=value lines for
# GITHUB_OUTPUT go to stdout.
#
#   release.sh state TAG SHA [BRANCH]
#       Has TAG already been released from SHA? Prints:
#         major=vX
#         released=false         TAG points at SHA, whose action.yml says image: Dockerfile
#         released=true          TAG points at a release commit whose parent is SHA and
#                                whose only change is action.yml's image line (a re-run)
#         ref=docker://...       (released=true) the image that release commit pins
#         commit=<sha>           (released=true) the release commit
#         move-major=true|false  TAG is the highest vX.*.* tag, so vX follows it
#       Fails when TAG points at anything else, or (with BRANCH) when SHA is not on
#       origin/BRANCH.
#   release.sh verify IMAGE TAG PLATFORM [--anonymous]
#       Runs `IMAGE version`, fails unless it prints TAG, and checks that the image is
#       for PLATFORM (linux/amd64). --anonymous first logs out of IMAGE's registry and
#       inspects and pulls IMAGE without credentials, as the runner does in "Set up job".
#   release.sh publish TAG REF [--push]
#       In a clean checkout of the tagged commit: rewrite action.yml's image to REF (one
#       line, scripts/pin-action-image.sh), commit that (parent: the tagged commit), and
#       point the annotated tags TAG and, when move-major, vX at the commit. --push
#       pushes them to origin in one atomic push, each with a lease on the value this
#       clone fetched, so a tag that moved meanwhile is not overwritten. Prints commit=
#       and tags=.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf 'release: %s\n' "$*" >&2; }
die() { printf 'release: ERROR: %s\n' "$1" >&2; exit "${2:-1}"; }
usage() { sed -n '/^#   release.sh state/,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }

tag_re='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$'
check_tag() { [[ "$1" =~ $tag_re ]] || die "'$1' is not a release tag vX.Y.Z" 2; }

# highest_of_major TAG: true when no vX.*.* tag in this clone is above TAG.
highest_of_major() {
	local tag=$1 major=${1%%.*} top
	top=$({
		git tag -l "$major.*" | grep -E "$tag_re" || true
		echo "$tag"
	} | sort -V | tail -n 1)
	[[ "$top" == "$tag" ]] && echo true || echo false
}

# image_at COMMIT: the runs.image of action.yml in COMMIT.
image_at() {
	local tmp
	tmp=$(mktemp)
	git show "$1:action.yml" >"$tmp" 2>/dev/null || { rm -f "$tmp"; die "$1 has no action.yml"; }
	"$here/pin-action-image.sh" --print "$tmp" || { rm -f "$tmp"; return 1; }
	rm -f "$tmp"
}

# one_line_change OLD NEW: the diff from OLD to NEW is one changed line of action.yml.
one_line_change() {
	[[ "$(git diff --numstat "$1" "$2")" == $'1\t1\taction.yml' ]]
}

cmd_state() {
	(($# == 2 || $# == 3)) || usage
	local tag=$1 sha=$2 branch=${3:-} tagged parents image
	check_tag "$tag"
	[[ "$sha" =~ ^[0-9a-f]{40}$ ]] || die "'$sha' is not a full commit SHA" 2
	git cat-file -e "$sha^{commit}" 2>/dev/null || die "commit $sha is not in this clone"
	if [[ -n "$branch" ]]; then
		git merge-base --is-ancestor "$sha" "refs/remotes/origin/$branch" 2>/dev/null ||
			die "$sha is not on origin/$branch: release tags go on commits of $branch"
	fi
	tagged=$(git rev-parse -q --verify "refs/tags/$tag^{commit}") ||
		die "tag $tag is not in this clone (fetch the tags: actions/checkout fetch-depth: 0)"
	local common
	common=$(printf 'major=%s\nmove-major=%s' "${tag%%.*}" "$(highest_of_major "$tag")")
	if [[ "$tagged" == "$sha" ]]; then
		image=$(image_at "$sha") || die "cannot read runs.image from action.yml at $sha"
		[[ "$image" == Dockerfile ]] ||
			die "action.yml at $sha says image: $image; a release starts from image: Dockerfile"
		log "$tag points at $sha: not released yet"
		printf '%s\nreleased=false\n' "$common"
		return
	fi
	parents=$(git rev-list --parents -n 1 "$tagged" | cut -d' ' -f2-)
	if [[ "$parents" == "$sha" ]] && one_line_change "$sha" "$tagged" &&
		image=$(image_at "$tagged" 2>/dev/null) && [[ "$image" == docker://*@sha256:* ]]; then
		log "$tag already points at release commit $tagged (parent $sha, image $image): nothing to build or retag"
		printf '%s\nreleased=true\nref=%s\ncommit=%s\n' "$common" "$image" "$tagged"
		return
	fi
	die "tag $tag points at $tagged, which is neither $sha nor a release commit made from it; not touching it"
}

cmd_verify() {
	(($# == 3 || $# == 4)) || usage
	local image=$1 tag=$2 platform=$3 anonymous=${4:-} registry out got
	check_tag "$tag"
	if [[ -n "$anonymous" ]]; then
		[[ "$anonymous" == --anonymous ]] || usage
		registry=${image%%/*}
		# The runner pulls docker:// images in "Set up job", before any step could log in.
		docker logout "$registry" >&2
		docker buildx imagetools inspect "$image" >&2 ||
			die "$image cannot be read without credentials. A new GHCR package is private: make it public once (docs/releasing.md)."
		docker pull -q "$image" >&2 || die "docker pull $image failed without credentials"
	fi
	out=$(docker run --rm "$image" version 2>&1) || die "docker run $image version failed: $out"
	[[ "$out" == "$tag" ]] || die "docker run $image version printed '$out', want $tag"
	got=$(docker image inspect -f '{{.Os}}/{{.Architecture}}' "$image")
	[[ "$got" == "$platform" ]] || die "$image is $got here, want $platform"
	log "$image ($got) prints version $out"
}

cmd_publish() {
	(($# == 2 || $# == 3)) || usage
	local tag=$1 ref=$2 push=${3:-} major sha old_tag old_major move commit tags
	check_tag "$tag"
	[[ -z "$push" || "$push" == --push ]] || usage
	major=${tag%%.*}
	sha=$(git rev-parse HEAD)
	[[ -z "$(git status --porcelain --untracked-files=no)" ]] || die "the checkout has local changes"
	[[ "$(git rev-parse -q --verify "refs/tags/$tag^{commit}")" == "$sha" ]] ||
		die "tag $tag does not point at HEAD ($sha); run 'release.sh state' first"
	# What this clone fetched: the leases of the push.
	old_tag=$(git rev-parse "refs/tags/$tag")
	old_major=$(git rev-parse -q --verify "refs/tags/$major" || true)
	move=$(highest_of_major "$tag")

	"$here/pin-action-image.sh" action.yml "$ref" >&2
	git diff --quiet -- action.yml && die "action.yml already said image: $ref at $sha"
	[[ "$(git diff --numstat)" == $'1\t1\taction.yml' ]] || die "expected exactly one changed line in action.yml"

	export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-github-actions[bot]}"
	export GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-41898282+github-actions[bot]@users.noreply.github.com}"
	export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}"
	export GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"
	git commit -q -m "Release $tag" -m "action.yml runs the prebuilt image $ref instead of building the Dockerfile. Parent: $sha." -- action.yml
	commit=$(git rev-parse HEAD)
	if [[ "$(git rev-parse "$commit^")" != "$sha" ]] || ! one_line_change "$sha" "$commit"; then
		die "the release commit is not a one-line change on top of $sha"
	fi

	git tag -f -a "$tag" -m "$tag" -m "image: $ref" "$commit" >&2
	tags=$tag
	local refspecs=("refs/tags/$tag:refs/tags/$tag") leases=("--force-with-lease=refs/tags/$tag:$old_tag")
	if [[ "$move" == true ]]; then
		git tag -f -a "$major" -m "$tag" -m "image: $ref" "$commit" >&2
		tags+=" $major"
		refspecs+=("refs/tags/$major:refs/tags/$major")
		leases+=("--force-with-lease=refs/tags/$major:$old_major")
	else
		log "$tag is not the highest $major.*.* tag: $major stays where it is"
	fi
	log "release commit $commit (parent $sha): tags $tags"
	if [[ -n "$push" ]]; then
		git push --atomic "${leases[@]}" origin "${refspecs[@]}" >&2 ||
			die "pushing $tags failed (a tag moved since this clone fetched it, or the token may not move tags)"
	fi
	echo "commit=$commit"
	echo "tags=$tags"
}

sub=${1:-}
shift || true
case "$sub" in
state) cmd_state "$@" ;;
verify) cmd_verify "$@" ;;
publish) cmd_publish "$@" ;;
*) usage ;;
esac
