#!/usr/bin/env bash
# Installs what the benchmarks need beyond the venv: Debian's wrk (the HTTP load generator
# the serving and monitoring benchmarks drive). A no-op when wrk is already on the PATH.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
echo "installing Debian's wrk (the load generator of the serving and monitoring benchmarks)..."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
command -v wrk >/dev/null
