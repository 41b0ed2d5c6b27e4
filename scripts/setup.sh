#!/usr/bin/env bash
# Installs the Debian packages netcore needs, only those that are missing.
# Usage: scripts/setup.sh [--with-sample] [--with-lab] [--with-interop] [--with-fuzz]
#                         [--with-metrics] [--with-bench]
#   --with-interop: third-party STUN clients for the interop tests (coturn's turnutils_stunclient,
#                   stun-client's stun)
#   --with-fuzz:    clang and its libFuzzer/sanitizer runtimes for the fuzz preset
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config git clang-format libenet-dev libcli11-dev catch2 libsodium-dev nettle-dev)
for arg in "$@"; do
  case "$arg" in
    --with-sample) packages+=(libsdl2-dev libimgui-dev libgl-dev xvfb xauth) ;;
    --with-lab) packages+=(iproute2 iptables procps python3 coturn nftables conntrack libnetfilter-queue-dev) ;;  # coturn: TURN relay, nft: path blocks, conntrack: rebinding, netfilter-queue: NL_DELAY_MS
    --with-interop) packages+=(stun-client coturn) ;;
    --with-fuzz) packages+=(clang libclang-rt-14-dev) ;;
    --with-metrics) packages+=(prometheus-cpp-dev) ;;  # rendezvous --metrics-port
    --with-bench) packages+=(coturn util-linux) ;;     # turnserver for STUN, taskset
    *) echo "setup.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup.sh: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
