#!/usr/bin/env bash
# Installs the Debian packages CI tests drive for real: prometheus (+ promtool), chromium, tmux, git (the llama.cpp
# release test reads node-llama-cpp's bundled source, a git bundle), and Mesa's software Vulkan driver (llvmpipe)
# with the Vulkan loader, which the GPU path test runs ggml's Vulkan backend on. Idempotent: skips apt when all are
# present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v git >/dev/null 2>&1 || need+=(git)
# tmux drives `reflexia run` in a real terminal (test/cli-run-tmux.test.ts: """, /set parameter, /bye, Ctrl-C).
command -v tmux >/dev/null 2>&1 || need+=(tmux)
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1 ' >/dev/null || need+=(libvulkan1)

if [ ${#need[@]} -eq 0 ]; then
  echo "ci-system-deps: prometheus, promtool, chromium, git, tmux, mesa-vulkan-drivers and libvulkan1 already installed"
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
ls /usr/share/vulkan/icd.d/lvp_icd.*.json
