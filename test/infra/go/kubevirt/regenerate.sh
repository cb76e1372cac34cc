#!/usr/bin/env bash
# Regenerates this tools module for a KubeVirt release. Only needed when the pinned version changes.
#
# kubevirt.io/kubevirt's go.mod replaces its staging modules (kubevirt.io/api, kubevirt.io/client-go)
# with local folders and pins several third-party modules. Replace directives of a dependency are
# ignored, so the non-local ones are copied here and the two staging modules are pinned to the
# release's tags. Kept apart from the Kubernetes tools module: KubeVirt pins older k8s.io modules.
set -euo pipefail
cd "$(dirname "$0")"
source ../module-steps.sh
version=${1:?usage: regenerate.sh v1.6.0}
fresh_module_copying_replaces kubevirt "kubevirt.io/kubevirt@${version}"
go mod edit -replace="kubevirt.io/api=kubevirt.io/api@${version}" -replace="kubevirt.io/client-go=kubevirt.io/client-go@${version}"
GOFLAGS=-mod=mod go get -tool "kubevirt.io/kubevirt/cmd/virt-controller@${version}"
GOFLAGS=-mod=mod go mod tidy
echo "$version" > VERSION
