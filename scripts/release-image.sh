#!/usr/bin/env bash
# Used by .github/workflows/release.yml: build the Dockerfile for ONE platform on a
# runner of that architecture (no emulation) and push it to ghcr.io/OWNER/REPO by digest
# only (no tag); the index job joins the digests into one multi-arch index, and the
# verify jobs run that index by digest on each architecture before any tag moves.
# scripts/release-dry-run.sh builds the same Dockerfile with the same VERSION locally.
#
# Usage: scripts/release-image.sh linux/amd64|linux/arm64
# Env:   TOKEN, ACTOR (ghcr.io login), TAG (vX.Y.Z, becomes main.version),
#        GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_OUTPUT, RUNNER_TEMP (set by the runner)
# Writes `digest=sha256:...` to GITHUB_OUTPUT.
set -euo pipefail

platform=${1:?usage: release-image.sh PLATFORM}
[[ "$platform" =~ ^linux/(amd64|arm64)$ ]] || { echo "::error::unsupported platform $platform"; exit 2; }
[[ "${TAG:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "::error::TAG '${TAG:-}' is not vX.Y.Z"; exit 2; }
image="ghcr.io/${GITHUB_REPOSITORY,,}"

echo "$TOKEN" | docker login ghcr.io -u "$ACTOR" --password-stdin
# push-by-digest needs a BuildKit builder of the docker-container driver.
docker buildx create --name release --driver docker-container --use >/dev/null
# Provenance/SBOM attestations are off so that each push is a plain image manifest
# and the index made from them lists exactly the two platforms.
docker buildx build . \
	--platform "$platform" \
	--build-arg "VERSION=$TAG" \
	--label "org.opencontainers.image.source=https://github.com/$GITHUB_REPOSITORY" \
	--label "org.opencontainers.image.revision=$GITHUB_SHA" \
	--label "org.opencontainers.image.version=$TAG" \
	--provenance=false --sbom=false \
	--output "type=image,name=$image,push-by-digest=true,name-canonical=true,push=true" \
	--metadata-file "$RUNNER_TEMP/metadata.json"

digest=$(jq -r '."containerimage.digest"' "$RUNNER_TEMP/metadata.json")
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "::error::no digest in the build metadata"; exit 1; }
echo "pushed $image@$digest ($platform)"
echo "digest=$digest" >>"$GITHUB_OUTPUT"
