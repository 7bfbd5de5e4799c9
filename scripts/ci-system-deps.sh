#!/usr/bin/env bash
# Installs the Debian packages CI tests drive for real: prometheus (+ promtool), chromium, and git (the llama.cpp
# release test reads node-llama-cpp's bundled source, a git bundle). Idempotent: skips apt when all are present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v git >/dev/null 2>&1 || need+=(git)

if [ ${#need[@]} -eq 0 ]; then
  echo "ci-system-deps: prometheus, promtool, chromium and git already installed"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # policy-rc.d 101 keeps the package's postinst from starting a Prometheus daemon on :9090, which would
  # take the port Reflexia's metrics listener defaults to; tests start their own Prometheus.
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap '[ -n "$created_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi

prometheus --version 2>&1 | head -n 1
promtool --version 2>&1 | head -n 1
/usr/bin/chromium --version 2>/dev/null
