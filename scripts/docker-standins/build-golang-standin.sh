#!/usr/bin/env bash
# Build a LOCAL stand-in for the Dockerfile's builder base image (golang:1.26-bookworm).
#
# WHY THIS EXISTS: some test machines (and sandboxes) can reach no container registry,
# so `FROM golang:1.26-bookworm` cannot be pulled. Neither `docker build` nor act pulls
# a base image that already exists locally, so a stand-in tagged with the exact name of
# the FROM line lets the REAL, unmodified Dockerfile be built and tested offline.
# GitHub's runners never use this: they pull the official image.
#
# The stand-in is hand-assembled from local files (no registry, no debootstrap):
#   /bin/sh etc.      busybox-static (Debian package; installed with apt-get if missing)
#   /usr/local/go     the host's Go toolchain (must be the same minor version as the tag)
#   /go/pkg/mod       a module cache holding this project's dependencies (go.mod/go.sum),
#                     so `go mod download` and `go build` need no network
#   /etc/ssl/certs/ca-certificates.crt   the host's CA bundle (the Dockerfile copies it)
# It is packed with tar and loaded with `docker import`, with the official image's ENV
# (PATH, GOPATH, GOTOOLCHAIN, GOLANG_VERSION) and WORKDIR given via --change, plus
# GOPROXY=off so a build inside it never tries the network (a missing module is a clear
# error instead of a hang).
#
# Caching: the image carries a label with a hash of its inputs; when an image with that
# tag and hash exists, nothing is rebuilt. An image with that tag WITHOUT our label (a
# real pulled golang image) is left alone.
#
# Usage: scripts/docker-standins/build-golang-standin.sh [--force]
# Env:   STANDIN_IMAGE  override the tag (default: the first FROM of ./Dockerfile)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
force=false
[[ "${1:-}" == "--force" ]] && force=true

log() { printf '[golang-standin] %s\n' "$*" >&2; }
die() { printf '[golang-standin] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null || die "docker is not installed"
command -v go >/dev/null || die "go is not on PATH (the host toolchain is copied into the stand-in)"

image=${STANDIN_IMAGE:-$(awk 'toupper($1)=="FROM"{print $2; exit}' "$repo_root/Dockerfile")}
[[ -n "$image" ]] || die "could not read the builder image from $repo_root/Dockerfile"
tag_minor=$(sed -nE 's/^golang:([0-9]+\.[0-9]+).*/\1/p' <<<"$image")
[[ -n "$tag_minor" ]] || die "unexpected builder image '$image' (expected golang:X.Y[-...])"

goroot=$(go env GOROOT)
goversion=$(go env GOVERSION)           # e.g. go1.26.8
host_minor=$(sed -nE 's/^go([0-9]+\.[0-9]+).*/\1/p' <<<"$goversion")
[[ "$host_minor" == "$tag_minor" ]] ||
	die "host Go is $goversion but the Dockerfile wants $image; install Go $tag_minor"
[[ "$(go env GOOS)/$(go env GOARCH)" == linux/* ]] || die "the host toolchain must be linux"

# Host packages this script needs (a fresh Debian/Ubuntu machine may lack them).
need_pkgs=()
[[ -x /bin/busybox ]] && /bin/busybox --list 2>/dev/null | grep -qx sh || need_pkgs+=(busybox-static)
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || need_pkgs+=(ca-certificates)
if ((${#need_pkgs[@]})); then
	[[ $(id -u) == 0 ]] || die "need apt packages ${need_pkgs[*]} (run as root or install them)"
	log "installing ${need_pkgs[*]} with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null; }
fi
file /bin/busybox 2>/dev/null | grep -q 'dynamically linked' && die "/bin/busybox is not static; install busybox-static"

# Hash of everything the stand-in is made from.
hash=$( {
	cat "${BASH_SOURCE[0]}"
	echo "$image $goversion $(go env GOARCH)"
	cat "$repo_root/go.mod" "$repo_root/go.sum" 2>/dev/null
	sha256sum /bin/busybox /etc/ssl/certs/ca-certificates.crt
} | sha256sum | cut -c1-16)

if ! $force; then
	if current=$(docker image inspect -f '{{ index .Config.Labels "io.miosa.standin.hash" }}' "$image" 2>/dev/null); then
		if [[ "$current" == "$hash" ]]; then
			log "$image is up to date (stand-in $hash)"; exit 0
		elif [[ -z "$current" || "$current" == "<no value>" ]]; then
			log "$image exists and is not a stand-in (a real image?); leaving it alone"; exit 0
		fi
		log "$image is a stale stand-in ($current); rebuilding"
	fi
fi

start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/golang-standin.XXXXXX")
cleanup() { chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc/ssl/certs,root,go/bin,go/src,go/pkg/mod,src}
install -d -m 1777 "$root/tmp" "$root/var/tmp"

# Shell and basic tools: one static busybox, linked under every applet name.
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[[ "$applet" == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
ln -sf /bin/env "$root/usr/bin/env"

# Minimal /etc (root user, name resolution via files then DNS, the CA bundle).
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"

# The Go toolchain (the regression-test tree under test/ is not needed to build).
log "copying $goversion from $goroot"
mkdir -p "$root/usr/local/go"
tar -C "$goroot" --exclude=./test -cf - . | tar -C "$root/usr/local/go" -xf -

# Module cache with this project's dependencies. The host's own module cache is tried
# first as a file:// proxy (no network), then the public proxy.
log "filling the module cache from go.mod/go.sum"
host_cache="$(go env GOMODCACHE)/cache/download"
# In a copy of go.mod and go.sum: `go mod download all` adds go.sum lines for the whole
# module graph, which must not change the repository (nor this image's hash).
mkdir -p "$work/mod"
cp "$repo_root/go.mod" "$repo_root/go.sum" "$work/mod/"
(
	cd "$work/mod"
	export GOMODCACHE="$root/go/pkg/mod" GOFLAGS=-modcacherw GOTOOLCHAIN=local
	export GOPROXY="file://$host_cache,${HOST_GOPROXY:-https://proxy.golang.org}"
	go mod download
	# Zips of every module in the graph too (tests of dependencies, go.mod-only entries);
	# best effort, `go mod download` above is what the Dockerfile runs.
	go mod download all 2>/dev/null || true
)

# Pack and import with the official image's configuration.
log "importing as $image"
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$work/rootfs.tar" .
docker import \
	--change "ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	--change "ENV GOLANG_VERSION=${goversion#go}" \
	--change "ENV GOTOOLCHAIN=local" \
	--change "ENV GOPATH=/go" \
	--change "ENV GOPROXY=off" \
	--change "WORKDIR /go" \
	--change 'CMD ["/bin/sh"]' \
	--change "LABEL io.miosa.standin=golang io.miosa.standin.hash=$hash" \
	--message "local stand-in for $image (scripts/docker-standins/build-golang-standin.sh)" \
	"$work/rootfs.tar" "$image" >/dev/null

log "built $image (stand-in $hash, $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')) in $((SECONDS - start))s"
