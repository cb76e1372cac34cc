#!/usr/bin/env bash
# Regenerates this tools module for a KubeVirt release. Only needed when the pinned version changes.
#
# kubevirt.io/kubevirt's go.mod replaces its staging modules (kubevirt.io/api, kubevirt.io/client-go)
# with local folders and pins several third-party modules. Replace directives of a dependency are
# ignored, so the non-local ones are copied here and the two staging modules are pinned to the
# release's tags. Kept apart from the Kubernetes tools module: KubeVirt pins older k8s.io modules.
set -euo pipefail
cd "$(dirname "$0")"
version=${1:?usage: regenerate.sh v1.6.0}
rm -f go.mod go.sum
go mod init spiderpool-ts/testbed/kubevirt
modfile=$(go mod download -json "kubevirt.io/kubevirt@${version}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
# Replace lines come one per line or inside a replace ( ... ) block; local targets start with ./ or ../
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
go mod edit -replace="kubevirt.io/api=kubevirt.io/api@${version}" -replace="kubevirt.io/client-go=kubevirt.io/client-go@${version}"
go_line=$(awk '$1 == "go" { print $2; exit }' "$modfile")
go mod edit -go="$go_line"
GOFLAGS=-mod=mod go get -tool "kubevirt.io/kubevirt/cmd/virt-controller@${version}"
GOFLAGS=-mod=mod go mod tidy
echo "$version" > VERSION
