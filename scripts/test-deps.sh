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
command -v htpasswd >/dev/null || need+=(apache2-utils)   # bcrypt lines for the test registry's basic auth
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian registry package may start a system service on :5000; the tests start their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  ${SUDO:-} systemctl stop docker-registry || true
fi
