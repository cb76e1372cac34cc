#!/usr/bin/env bash
# The steps the tools modules' regenerate.sh scripts share, as functions; each script sources this
# file from its own folder (the module it rewrites) and keeps only what is particular to its release.
set -euo pipefail

# fresh_module NAME: drops go.mod and go.sum and starts the module spiderpool-ts/testbed/NAME here.
fresh_module() {
  rm -f go.mod go.sum
  go mod init "spiderpool-ts/testbed/$1"
}

# fresh_module_copying_replaces NAME MODULE@VERSION: fresh_module NAME, with the replace directives and
# the go line of that release's go.mod (copy_replaces), for a dependency whose go.mod replaces modules.
fresh_module_copying_replaces() {
  fresh_module "$1"
  local modfile
  modfile=$(go_mod_of "$2")
  copy_replaces "$modfile"
}

# go_mod_of MODULE@VERSION: downloads that release and prints the path of its go.mod.
go_mod_of() {
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'
}

# staging_modules GOMOD: the k8s.io modules GOMOD requires at v0.0.0. k8s.io/kubernetes requires each
# of its staging modules so, and no proxy serves that version: a consumer replaces each one.
staging_modules() {
  awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$1" | sort -u
}

# copy_go_line GOMOD: takes GOMOD's `go` line.
copy_go_line() {
  go mod edit -go="$(awk '$1 == "go" { print $2; exit }' "$1")"
}

# copy_replaces GOMOD: copies GOMOD's non-local replace directives (one per line or inside a
# `replace ( ... )` block) and its `go` line. A dependency's replace directives are ignored by Go, so a
# tools module that builds its commands must repeat them. Local targets (./ or ../) are left out: the
# caller pins those modules itself; a go.mod whose replaces are all local copies none (grep -v then
# selects nothing and exits 1, which pipefail would turn into a failed step).
copy_replaces() {
  awk '
    /^replace \($/ { inblock = 1; next }
    inblock && /^\)$/ { inblock = 0; next }
    inblock && NF { print; next }
    /^replace / { sub(/^replace /, ""); print }
  ' "$1" | { grep -v '=> \.' || true; } | while read -r line; do
    from=$(echo "$line" | awk '{ print $1 ($2 == "=>" ? "" : "@" $2) }')
    to=$(echo "$line" | awk -F'=> ' '{ print $2 }' | awk '{ print $1 ($2 ? "@" $2 : "") }')
    go mod edit -replace="${from}=${to}"
  done
  copy_go_line "$1"
}
