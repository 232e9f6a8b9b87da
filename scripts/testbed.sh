#!/usr/bin/env bash
# testbed.sh -- a multi-host test bed on one machine: hosts as network namespaces.
#
#   scripts/testbed.sh up       create the hosts (idempotent; needs root, iproute2, unshare)
#   scripts/testbed.sh down     remove them (processes running in them are killed first)
#   scripts/testbed.sh status   print the hosts and their addresses; exit 1 when not up
#   scripts/testbed.sh exec HOST CMD...   run CMD "on" HOST (its network namespace, and a
#                               UTS namespace whose host name is HOST)
#   scripts/testbed.sh rsh [opts] HOST CMD...   the same, for `mpirun --mca plm_rsh_agent`
#
# Hosts, as on a cluster: `login`, `node1`, `node2`. Each has
#   ib0   the fabric, 10.77.1.0/24, no default route (login .10, node1 .11, node2 .12)
#   eth0  the management network, 10.77.2.0/24 (same host numbers); login and node1 have the
#         default route on it (via 10.77.2.254), node2 has no default route at all.
# The two networks are bridges in a separate namespace `tbed-switch`. Names resolve through
# /etc/netns/tbed-HOST/hosts (ip netns exec mounts it over /etc/hosts): every host name maps
# to its eth0 address, and -- as Debian does -- each host's own name first maps to 127.0.1.1.
# The machine's /tmp is shared by all hosts (the "shared filesystem" for scheduler files).
# Only private addresses inside these namespaces are used; nothing leaves the machine, and the
# host's own network, Slurm and Grid Engine are not touched.
# Tests read TESSERA_TEST_TESTBED=1 from scripts/test-env.sh when the bed is up.
set -euo pipefail

PREFIX=tbed
HOSTS=(login node1 node2)
declare -A NUMBER=([login]=10 [node1]=11 [node2]=12)
declare -A DEFAULT_ROUTE=([login]=1 [node1]=1 [node2]=0)
MARKER=/run/tessera-testbed/up

ns() { echo "$PREFIX-$1"; }

say() { echo "[testbed] $*" >&2; }

is_up() {
  [ -f "$MARKER" ] || return 1
  local h
  for h in switch "${HOSTS[@]}"; do
    ip netns list 2>/dev/null | grep -qw "$(ns "$h")" || return 1
  done
}

hosts_file() {
  local self=$1 h
  echo "127.0.0.1 localhost"
  echo "127.0.1.1 $self"
  for h in "${HOSTS[@]}"; do
    echo "10.77.2.${NUMBER[$h]} $h"
    echo "10.77.1.${NUMBER[$h]} $h-ib"
  done
}

up() {
  if is_up; then
    say "already up"
    return 0
  fi
  down quiet
  command -v unshare >/dev/null || { say "unshare (util-linux) is missing"; exit 1; }
  local sw h n answer
  sw=$(ns switch)
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  for net in ib eth; do
    ip -n "$sw" link add "br-$net" type bridge
    ip -n "$sw" link set "br-$net" up
  done
  # the default gateway's address exists (on the management bridge) but routes nowhere
  ip -n "$sw" addr add 10.77.2.254/24 dev br-eth
  for h in "${HOSTS[@]}"; do
    n=${NUMBER[$h]}
    ip netns add "$(ns "$h")"
    ip -n "$(ns "$h")" link set lo up
    for net in ib eth; do
      # one end in the host (renamed ib0/eth0), the other on the switch's bridge
      ip link add "tb-$h-$net" type veth peer name "tbp-$h-$net"
      ip link set "tb-$h-$net" netns "$(ns "$h")"
      ip link set "tbp-$h-$net" netns "$sw"
      ip -n "$sw" link set "tbp-$h-$net" master "br-$net"
      ip -n "$sw" link set "tbp-$h-$net" up
      ip -n "$(ns "$h")" link set "tb-$h-$net" name "${net}0"
    done
    ip -n "$(ns "$h")" addr add "10.77.1.$n/24" dev ib0
    ip -n "$(ns "$h")" addr add "10.77.2.$n/24" dev eth0
    ip -n "$(ns "$h")" link set ib0 up
    ip -n "$(ns "$h")" link set eth0 up
    if [ "${DEFAULT_ROUTE[$h]}" = 1 ]; then
      ip -n "$(ns "$h")" route add default via 10.77.2.254 dev eth0
    fi
    mkdir -p "/etc/netns/$(ns "$h")"
    hosts_file "$h" >"/etc/netns/$(ns "$h")/hosts"
  done
  # the hosts reach each other on both networks
  for h in "${HOSTS[@]}"; do
    for net in 1 2; do
      # a refused connection (port 9, nothing listens) proves the host answered
      answer=$(ip netns exec "$(ns login)" timeout 3 bash -c \
        "exec 3<>/dev/tcp/10.77.$net.${NUMBER[$h]}/9" 2>&1 || true)
      case "$answer" in
        *"Connection refused"*) ;;
        *) say "10.77.$net.${NUMBER[$h]} ($h) does not answer: $answer"; exit 1 ;;
      esac
    done
  done
  mkdir -p "$(dirname "$MARKER")"
  touch "$MARKER"
  say "up: ${HOSTS[*]} (ib0 10.77.1.0/24, eth0 10.77.2.0/24; node2 has no default route)"
}

down() {
  local h pids
  for h in "${HOSTS[@]}" switch; do
    if ip netns list 2>/dev/null | grep -qw "$(ns "$h")"; then
      pids=$(ip netns pids "$(ns "$h")" 2>/dev/null || true)
      # shellcheck disable=SC2086
      [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
      ip netns del "$(ns "$h")"
    fi
    rm -rf "/etc/netns/$(ns "$h")"
  done
  rm -f "$MARKER"
  [ "${1:-}" = quiet ] || say "down"
}

status() {
  if ! is_up; then
    echo "testbed: down"
    return 1
  fi
  local h
  for h in "${HOSTS[@]}"; do
    echo "$h: $(ip -n "$(ns "$h")" -br -4 addr show | awk '$1 != "lo" {sub(/@.*/, "", $1); printf "%s %s  ", $1, $3}')" \
      "default route: $(ip -n "$(ns "$h")" route show default | awk '{print $3}' | grep . || echo none)"
  done
}

# run "$@" on host $1 (its network namespace, its own host name) in place of this script, so
# the command keeps this script's process id (and a kill reaches it)
on() {
  local h=$1
  shift
  exec ip netns exec "$(ns "$h")" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$h" "$@"
}

# mpirun's remote shell: `rsh [options] HOST COMMAND...`; the command is one shell line
rsh() {
  while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
  local target=$1 h
  shift
  for h in "${HOSTS[@]}"; do
    case "$target" in
      "$h" | "$h-ib" | "10.77.1.${NUMBER[$h]}" | "10.77.2.${NUMBER[$h]}")
        on "$h" sh -c "$*"
        return
        ;;
    esac
  done
  say "rsh: unknown host $target (hosts: ${HOSTS[*]})"
  exit 255
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  exec) shift; [ $# -ge 2 ] || { say "usage: $0 exec HOST CMD..."; exit 2; }; on "$@" ;;
  rsh) shift; rsh "$@" ;;
  *) echo "usage: $0 up|down|status|exec HOST CMD...|rsh HOST CMD..." >&2; exit 2 ;;
esac
