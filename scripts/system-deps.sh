#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: the PostgreSQL server (the
# store tests start a throwaway cluster) and kubectl (kubectl kustomize renders the
# Kubernetes manifests; Debian packages it in kubernetes-client).
set -euo pipefail
missing=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if ! command -v ip >/dev/null 2>&1; then  # the Ray tests bring up loopback in a namespace
  missing+=(iproute2)
fi
if ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian's ${missing[*]} (needed by the tests)..."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
