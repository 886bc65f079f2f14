#!/usr/bin/env bash
# Installs what Holdfast needs on Debian, then the npm packages (npm install runs `prepare`, the
# TypeScript build). Idempotent: apt runs only when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(openvswitch-switch openvswitch-common ethtool iproute2 socat iputils-ping chromium tshark prometheus etcd-server openssl python3-minimal)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  command -v apt-get >/dev/null || { echo "install-deps: apt-get not found (Debian/Ubuntu only); install: ${missing[*]}" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  # The labs run their own ovsdb-server/ovs-vswitchd; the packaged OVS service is not needed, and its
  # start (kernel module, systemd) fails in containers. Keep maintainer scripts from starting
  # services while we install, unless a policy is already in place.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  echo "install-deps: apt-get install ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: Debian packages present"
fi

# `--system-only`: Debian packages only (npm test calls this before building).
if [[ "${1:-}" == "--system-only" ]]; then exit 0; fi

echo "install-deps: npm install"
npm install --no-audit --no-fund
