#!/usr/bin/env bash
# Point a Docker action's action.yml at a prebuilt image: rewrite the `image:` key of
# its top-level `runs:` mapping from `Dockerfile` to a `docker://...@sha256:...`
# reference, whatever the indentation, changing that one line and nothing else.
# Used by the release (scripts/release.sh) and by its dry run.
#
# Usage: scripts/pin-action-image.sh ACTION_YML docker://HOST/PATH@sha256:<64 hex>
#        scripts/pin-action-image.sh --print ACTION_YML   (print runs.image, unquoted)
#
# Exit status:
#   0  the line now says the reference (rewritten, or it already said exactly that)
#   1  the file cannot be pinned: no `image:` under `runs:`, more than one, or an image
#      other than Dockerfile (for example another digest); the file is left as it was
#   2  bad command line (including a reference that is not docker://...@sha256:<hex>)
set -euo pipefail

die() { printf 'pin-action-image: %s\n' "$1" >&2; exit "${2:-1}"; }
usage() { die "usage: pin-action-image.sh ACTION_YML docker://IMAGE@sha256:DIGEST | --print ACTION_YML" 2; }

# find_image FILE: sets line_no, indent, value (unquoted, without a trailing comment).
# Only keys of the top-level `runs:` block count, at that block's own indentation, so
# an `image:` inside an input's description or a deeper mapping is never touched.
find_image() {
	local file=$1 line n=0 in_runs=false key_indent="" lead rest
	line_no="" indent="" value=""
	local count=0
	while IFS= read -r line || [[ -n "$line" ]]; do
		n=$((n + 1))
		line=${line%$'\r'}
		# A line starting in column 0 (not a comment) opens or closes a top-level block.
		if [[ "$line" =~ ^[^[:space:]#] ]]; then
			in_runs=false key_indent=""
			[[ "$line" =~ ^runs:[[:space:]]*(#.*)?$ ]] && in_runs=true
			continue
		fi
		$in_runs || continue
		[[ "$line" =~ ^([ ]+)([^[:space:]#].*)$ ]] || continue
		lead=${BASH_REMATCH[1]} rest=${BASH_REMATCH[2]}
		[[ -n "$key_indent" ]] || key_indent=$lead
		[[ "$lead" == "$key_indent" ]] || continue
		[[ "$rest" =~ ^image:([[:space:]]+(.*))?$ ]] || continue
		count=$((count + 1))
		line_no=$n indent=$lead
		value=${BASH_REMATCH[2]:-}
		# Drop a trailing comment (` # ...`) and surrounding blanks, then one level of quotes.
		value=$(sed -E 's/[[:space:]]+#.*$//; s/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$value")
		if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
	done <"$file"
	((count <= 1)) || die "$file: $count 'image:' keys under 'runs:'; expected one"
	[[ -n "$line_no" ]] || die "$file: no 'image:' key under 'runs:'"
}

if [[ "${1:-}" == --print ]]; then
	(($# == 2)) || usage
	[[ -f "$2" ]] || die "$2: no such file" 2
	find_image "$2"
	printf '%s\n' "$value"
	exit 0
fi

(($# == 2)) || usage
file=$1 ref=$2
[[ -f "$file" ]] || die "$file: no such file" 2
# Lowercase registry/path (Docker references must be), a digest and nothing else: the
# runner pulls exactly this, and the characters are safe in the sed below.
[[ "$ref" =~ ^docker://[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+@sha256:[0-9a-f]{64}$ ]] ||
	die "not a docker://HOST/PATH@sha256:<64 hex> reference: '$ref'" 2

find_image "$file"
if [[ "$value" == "$ref" ]]; then
	echo "pin-action-image: $file: line $line_no already says image: $ref"
	exit 0
fi
[[ "$value" == Dockerfile ]] ||
	die "$file: line $line_no says image: '$value', not Dockerfile; refusing to replace it with $ref"

# Rewrite line line_no only, keeping its indentation (and a CRLF ending, if any).
new_line="${indent}image: ${ref}"
[[ "$(sed -n "${line_no}p" "$file")" == *$'\r' ]] && new_line+=$'\r'
tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f "$tmp"' EXIT
sed "${line_no}s|^.*\$|${new_line}|" "$file" >"$tmp"
removed=$(diff "$file" "$tmp" | grep -c '^<' || true)
added=$(diff "$file" "$tmp" | grep -c '^>' || true)
[[ "$removed/$added" == 1/1 ]] || die "$file: the rewrite changed $removed/$added lines, expected 1; file left as it was"
cat "$tmp" >"$file" # keeps the file's mode and owner
echo "pin-action-image: $file: line $line_no: image: Dockerfile -> image: $ref"
