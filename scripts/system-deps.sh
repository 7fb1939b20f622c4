#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: the PostgreSQL server (the
# store tests start a throwaway cluster), kubectl (kubectl kustomize renders the
# Kubernetes manifests; Debian packages it in kubernetes-client) and chromium (Playwright
# drives it to test the pages; it cannot download a browser of its own here).
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
if ! command -v chromium >/dev/null 2>&1; then  # the pages are tested in a real browser
  missing+=(chromium)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian's ${missing[*]} (needed by the tests)..."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
