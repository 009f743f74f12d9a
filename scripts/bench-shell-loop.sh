#!/usr/bin/env bash
# Syncs sandbox templates the way a user would script it by hand: list the
# templates, then for each file in turn create the template and trigger a
# build, one curl at a time. It is the baseline that `go run ./bench` compares
# `sandbox-templates apply` with.
#
# Usage: MIOSA_API_KEY=msk_... scripts/bench-shell-loop.sh API_URL BODIES_DIR
#
# BODIES_DIR holds NAME.create.json (the body of POST /sandbox-templates) and
# NAME.build.json (the body of POST /sandbox-templates/{id}/builds) for each
# template; the bench writes them from the YAML files beforehand.
set -euo pipefail

api=${1:?usage: bench-shell-loop.sh API_URL BODIES_DIR}
dir=${2:?usage: bench-shell-loop.sh API_URL BODIES_DIR}
: "${MIOSA_API_KEY:?set MIOSA_API_KEY}"
auth="Authorization: Bearer $MIOSA_API_KEY"

existing=$(curl -fsS -H "$auth" "$api/sandbox-templates")

for body in "$dir"/*.create.json; do
  name=$(basename "$body" .create.json)
  if jq -e --arg n "$name" 'any(.[]; .name == $n)' <<<"$existing" >/dev/null; then
    echo "$name: exists, skipped"
    continue
  fi
  id=$(curl -fsS -H "$auth" -H "Content-Type: application/json" \
    --data-binary @"$body" "$api/sandbox-templates" | jq -r '.data.id')
  build=$(curl -fsS -H "$auth" -H "Content-Type: application/json" \
    --data-binary @"$dir/$name.build.json" "$api/sandbox-templates/$id/builds" | jq -r '.data.id')
  echo "$name: template $id, build $build"
done
