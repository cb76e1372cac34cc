#!/usr/bin/env bash
# Regenerates this tools module for a Spiderpool release (a benchmark peer: its agent and CNI plugin;
# `npm run bench` builds them, `npm run testbed:build` does not). Only needed when the pinned version
# changes.
#
# Spiderpool requires k8s.io/kubernetes, whose go.mod requires each staging module at v0.0.0, which no
# proxy serves (Spiderpool itself builds from its vendor folder). So every staging module named in that
# go.mod is replaced with the version Spiderpool requires it at, or else with Spiderpool's k8s.io/api
# version. The checksum database has no entry for github.com/tigera/operator, so it is not asked.
set -euo pipefail
cd "$(dirname "$0")"
version=${1:?usage: regenerate.sh v1.2.2}
export GONOSUMDB=github.com/tigera GOFLAGS=-mod=mod
rm -f go.mod go.sum
go mod init spiderpool-ts/testbed/spiderpool
gomod() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'; }
required() { awk -v m="$2" '($1 == m && $2 ~ /^v/) || ($1 == "require" && $2 == m) { print ($1 == "require" ? $3 : $2); exit }' "$1"; }
spiderpool_mod=$(gomod "github.com/spidernet-io/spiderpool@${version}")
kubernetes=$(required "$spiderpool_mod" k8s.io/kubernetes)
staging=$(required "$spiderpool_mod" k8s.io/api)
kubernetes_mod=$(gomod "k8s.io/kubernetes@${kubernetes}")
awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$kubernetes_mod" | sort -u | while read -r m; do
  v=$(required "$spiderpool_mod" "$m")
  go mod edit -replace="${m}=${m}@${v:-$staging}"
done
go_line=$(awk '$1 == "go" { print $2; exit }' "$spiderpool_mod")
go mod edit -go="$go_line"
go get -tool "github.com/spidernet-io/spiderpool/cmd/spiderpool-agent@${version}" \
  "github.com/spidernet-io/spiderpool/cmd/spiderpool@${version}"
echo "$version" > VERSION
