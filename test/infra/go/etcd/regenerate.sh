#!/usr/bin/env bash
# Regenerates this tools module for an etcd release. Only needed when the pinned version changes.
# etcd's server module carries replace directives, so `go install ...@version` is refused; requiring
# it from a module of our own resolves its siblings at the versions it pins.
set -euo pipefail
cd "$(dirname "$0")"
source ../module-steps.sh
version=${1:?usage: regenerate.sh v3.6.16}
fresh_module etcd
go get -tool "go.etcd.io/etcd/server/v3@${version}"
echo "$version" > VERSION
