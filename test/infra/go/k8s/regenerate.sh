#!/usr/bin/env bash
# Regenerates this tools module for a Kubernetes release. Only needed when the pinned version changes;
# the committed go.mod/go.sum are what builds use.
#
# k8s.io/kubernetes requires each of its staging modules at v0.0.0, which no proxy serves, so a
# consumer must replace each one with the matching v0.N.M tag. The list is read from the release's
# own go.mod rather than hard-coded, so it stays right when staging modules come and go.
set -euo pipefail
cd "$(dirname "$0")"
version=${1:?usage: regenerate.sh v1.34.2}
staging_version="v0.${version#v1.}"
rm -f go.mod go.sum
go mod init spiderpool-ts/testbed/k8s
modfile=$(go mod download -json "k8s.io/kubernetes@${version}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$modfile" | sort -u | while read -r m; do
  go mod edit -replace="${m}=${m}@${staging_version}"
done
go_line=$(awk '$1 == "go" { print $2; exit }' "$modfile")
go mod edit -go="$go_line"
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@${version}" \
  "k8s.io/kubernetes/cmd/kube-controller-manager@${version}" \
  "k8s.io/kubernetes/cmd/kube-scheduler@${version}" \
  "k8s.io/kubernetes/cmd/kubectl@${version}" \
  "k8s.io/kubernetes/cmd/kubelet@${version}" \
  "k8s.io/kubernetes/cmd/kube-proxy@${version}"
echo "$version" > VERSION
