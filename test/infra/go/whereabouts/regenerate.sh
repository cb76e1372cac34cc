#!/usr/bin/env bash
# Regenerates this tools module for a Whereabouts release (a benchmark peer; `npm run bench` builds it,
# `npm run testbed:build` does not). Only needed when the pinned version changes.
# whereabouts' go.mod carries a replace directive, so `go install ...@version` is refused; requiring its
# main package from a module of our own works.
set -euo pipefail
cd "$(dirname "$0")"
source ../module-steps.sh
version=${1:?usage: regenerate.sh v0.9.2}
fresh_module_copying_replaces whereabouts "github.com/k8snetworkplumbingwg/whereabouts@${version}"
GOFLAGS=-mod=mod go get -tool "github.com/k8snetworkplumbingwg/whereabouts/cmd@${version}"
echo "$version" > VERSION
