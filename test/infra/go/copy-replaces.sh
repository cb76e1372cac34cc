#!/usr/bin/env bash
# Copies the non-local replace directives of a dependency's go.mod (one per line or inside a
# `replace ( ... )` block) into the module in the current folder, and its `go` line. A dependency's
# replace directives are ignored by Go, so a tools module that builds its commands must repeat them.
# Local targets (./ or ../) are left out: the caller pins those modules itself.
# Usage (from a module's regenerate.sh): ../copy-replaces.sh <path of the dependency's go.mod>
set -euo pipefail
modfile=${1:?usage: copy-replaces.sh <go.mod of the dependency>}
awk '
  /^replace \($/ { inblock = 1; next }
  inblock && /^\)$/ { inblock = 0; next }
  inblock && NF { print; next }
  /^replace / { sub(/^replace /, ""); print }
' "$modfile" | grep -v '=> \.' | while read -r line; do
  from=$(echo "$line" | awk '{ print $1 ($2 == "=>" ? "" : "@" $2) }')
  to=$(echo "$line" | awk -F'=> ' '{ print $2 }' | awk '{ print $1 ($2 ? "@" $2 : "") }')
  go mod edit -replace="${from}=${to}"
done
go_line=$(awk '$1 == "go" { print $2; exit }' "$modfile")
go mod edit -go="$go_line"
