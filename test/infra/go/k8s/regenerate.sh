#!/usr/bin/env bash
# Regenerates this tools module for a Kubernetes release. Only needed when the pinned version changes;
# the committed go.mod/go.sum are what builds use.
#
# k8s.io/kubernetes requires each of its staging modules at v0.0.0, which no proxy serves, so each one
# is replaced with the matching v0.N.M tag. The list is read from the release's
# own go.mod rather than hard-coded, so it stays right when staging modules come and go.
set -euo pipefail
cd "$(dirname "$0")"
source ../module-steps.sh
version=${1:?usage: regenerate.sh v1.34.2}
staging_version="v0.${version#v1.}"
fresh_module k8s
modfile=$(go_mod_of "k8s.io/kubernetes@${version}")
staging_modules "$modfile" | while read -r m; do
  go mod edit -replace="${m}=${m}@${staging_version}"
done
copy_go_line "$modfile"
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@${version}" \
  "k8s.io/kubernetes/cmd/kube-controller-manager@${version}" \
  "k8s.io/kubernetes/cmd/kube-scheduler@${version}" \
  "k8s.io/kubernetes/cmd/kubectl@${version}" \
  "k8s.io/kubernetes/cmd/kubelet@${version}" \
  "k8s.io/kubernetes/cmd/kube-proxy@${version}"
echo "$version" > VERSION
