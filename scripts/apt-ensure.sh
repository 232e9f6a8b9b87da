#!/usr/bin/env bash
# apt-ensure.sh PKG... -- install the Debian packages among PKG that are not installed yet.
#
# Fast no-op when everything is installed (one dpkg-query per package, no apt call).
# Otherwise: `apt-get update` first only when a missing package has no install candidate
# (fresh machine without package lists), then one non-interactive install that waits up
# to 10 minutes for the dpkg lock (other people may be running apt at the same time).
# Needs root for the install itself; prints one line saying what it installs.
#
# Env: APT_ENSURE_TAG  prefix of the log line (default "apt")
set -euo pipefail
tag=${APT_ENSURE_TAG:-apt}
[ $# -gt 0 ] || { echo "usage: $0 PKG..." >&2; exit 2; }

has_candidate() { local c; c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/{print $2}'); [ -n "$c" ] && [ "$c" != "(none)" ]; }

missing=()
# one dpkg-query for all (a package dpkg never heard of is simply not listed)
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk '/ install ok installed$/{print $1}' || true)
for p in "$@"; do grep -qx -- "$p" <<<"$installed" || missing+=("$p"); done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" != 0 ]; then
  echo "[$tag] missing packages: ${missing[*]} -- run as root (or via sudo) to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
for p in "${missing[@]}"; do
  if ! has_candidate "$p"; then
    echo "[$tag] refreshing package lists (apt-get update): no candidate for $p" >&2
    apt_get update -qq
    break
  fi
done
echo "[$tag] installing: ${missing[*]}" >&2
apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
