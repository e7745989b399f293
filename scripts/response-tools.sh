#!/usr/bin/env bash
# Installs the tools the response-feed tests check their output with, only when missing:
# `nft` (nftables, Debian main) parses the nftables set file (`nft -c -f`), and `suricata`
# (Debian bookworm-backports; bookworm's main has none) parses the drop rules (`suricata -T`).
# Idempotent; needs root (CI runs as root) or does nothing but say what is missing.
set -euo pipefail

missing=()
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v suricata >/dev/null 2>&1 || missing+=(suricata)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "response-tools: missing ${missing[*]} and not root; the feed-format tests will fail" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
if [[ " ${missing[*]} " == *" suricata "* ]] && ! apt-cache policy suricata 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    # bookworm ships Suricata only in backports.
    echo "deb http://deb.debian.org/debian ${codename}-backports main" > /etc/apt/sources.list.d/anomalyforge-backports.list
fi
apt-get update -qq
for pkg in "${missing[@]}"; do
    if [ "$pkg" = suricata ] && [ -f /etc/apt/sources.list.d/anomalyforge-backports.list ]; then
        apt-get install -y -qq --no-install-recommends -t "${codename}-backports" suricata >/dev/null
    else
        apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
    fi
done
nft --version
suricata -V
