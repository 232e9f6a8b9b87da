#!/usr/bin/env bash
# apt-ensure.sh PKG... -- install the Debian packages among PKG that are not installed yet.
#
# Fast no-op when everything is installed (one dpkg-query, no apt call). Otherwise it survives
# a machine whose package lists are stale (a fresh machine, an image built months ago, a mirror
# that moved on), where a plain `apt-get install` fails with "held broken packages" or 404s:
#   1. `apt-get update`, unless this script refreshed the lists in the last 10 minutes
#      (a stamp file next to the lists: several calls in one install pay for one update);
#   2. one non-interactive install, waiting up to 10 minutes for the dpkg lock;
#   3. if that fails: `apt-get update` again (even within the 10 minutes) and one retry.
# Needs root for the install itself; prints one line per step on stderr.
#
# Env: APT_ENSURE_TAG    prefix of the log lines (default "apt")
#      APT_CONFIG        apt's own: another configuration (tests/install_stale_lists.rs points
#                        Dir::State::Lists at a copy of the lists it made stale)
# Exit codes: 0 installed (or nothing to do), 1 install failed after the retry, 2 bad usage.
set -euo pipefail
tag=${APT_ENSURE_TAG:-apt}
[ $# -gt 0 ] || { echo "usage: $0 PKG..." >&2; exit 2; }

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

# where the lists are (honours APT_CONFIG): the stamp lives beside them
lists_dir=/var/lib/apt/lists
eval "$(apt-config shell lists_dir Dir::State::lists/d 2>/dev/null)" || true
stamp=${lists_dir%/}/.tessera-apt-ensure-updated

update_lists() { # $1: why
  echo "[$tag] refreshing package lists (apt-get update): $1" >&2
  if apt_get update -qq; then
    touch "$stamp" 2>/dev/null || true
  else
    echo "[$tag] apt-get update reported errors; trying the install anyway" >&2
  fi
}

if [ -n "$(find "$stamp" -mmin -10 2>/dev/null)" ]; then
  : # refreshed by an earlier call a moment ago
else
  update_lists "before installing ${missing[*]}"
fi
echo "[$tag] installing: ${missing[*]}" >&2
log=$(mktemp); trap 'rm -f "$log"' EXIT
if apt_get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  exit 0
fi
echo "[$tag] install failed ($(grep -m1 '^E:' "$log" || tail -1 "$log")); updating the lists and retrying once" >&2
update_lists "retry after a failed install"
if apt_get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  exit 0
fi
cat "$log" >&2
echo "[$tag] ERROR: apt-get install ${missing[*]} failed twice, the second time on freshly updated lists" >&2
exit 1
