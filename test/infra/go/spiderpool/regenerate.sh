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
source ../module-steps.sh
version=${1:?usage: regenerate.sh v1.2.2}
export GONOSUMDB=github.com/tigera GOFLAGS=-mod=mod
fresh_module spiderpool
required() { awk -v m="$2" '($1 == m && $2 ~ /^v/) || ($1 == "require" && $2 == m) { print ($1 == "require" ? $3 : $2); exit }' "$1"; }
spiderpool_mod=$(go_mod_of "github.com/spidernet-io/spiderpool@${version}")
kubernetes=$(required "$spiderpool_mod" k8s.io/kubernetes)
staging=$(required "$spiderpool_mod" k8s.io/api)
kubernetes_mod=$(go_mod_of "k8s.io/kubernetes@${kubernetes}")
staging_modules "$kubernetes_mod" | while read -r m; do
  v=$(required "$spiderpool_mod" "$m")
  go mod edit -replace="${m}=${m}@${v:-$staging}"
done
copy_go_line "$spiderpool_mod"
go get -tool "github.com/spidernet-io/spiderpool/cmd/spiderpool-agent@${version}" \
  "github.com/spidernet-io/spiderpool/cmd/spiderpool@${version}"
echo "$version" > VERSION
