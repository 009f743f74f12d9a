# Image for the sandbox-templates Docker action.
#
# action.yml on the default branch says `image: Dockerfile`, so the runner builds this
# file for every job that uses the action from a branch or SHA; releases publish a
# prebuilt multi-arch image instead (see .github/workflows/release.yml).
#
# Keep this file buildable by the classic Docker builder (no BuildKit-only syntax such as
# `RUN --mount`): the GitHub runner and act both build it through the Docker API.

FROM golang:1.26-bookworm AS build

# Set by release.yml (the tag); local and runner builds say "dev".
ARG VERSION=dev

WORKDIR /src

# Dependencies first, so editing source does not invalidate the module layer.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sandbox-templates .

# Final image: the static binary and the CA bundle (the API is reached over HTTPS).
# No USER line: a Docker action must run as root to append to the runner's
# GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files.
FROM scratch

COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/sandbox-templates /sandbox-templates

ENTRYPOINT ["/sandbox-templates"]
