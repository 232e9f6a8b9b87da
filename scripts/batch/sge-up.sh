#!/usr/bin/env bash
# sge-up.sh [up|stop|status] -- a one-host Son of Grid Engine 8.1.9 (Debian gridengine-*)
# for tests: sge_qmaster + sge_execd started by hand (no systemd), queue all.q with
# $SGE_SLOTS slots, parallel environments "smp" ($pe_slots) and "mpi" ($fill_up,
# control_slaves). Idempotent; `up` returns only after `qsub -sync y` ran a job.
# After it, plain qsub/qstat/qdel/qacct work in any shell (the /usr/bin wrappers read
# /etc/default/gridengine). `stop` stops the two daemons; packages stay.
#
#   SGE_SLOTS=8            slots of all.q (may exceed the real cores)
#   SGE_READY_TIMEOUT=90   seconds to wait for qmaster, the queue and the smoke job
#   SGE_FAIL_FAST=1        put "-w e" into the cluster-wide sge_request, so a job that can
#                          never run (e.g. -pe smp 64) is rejected by qsub instead of
#                          waiting in "qw" forever; 0 removes it
#
# Pitfalls this script handles (learned on Debian 12):
#   * debconf must be preseeded with the master host name, or act_qmaster stays empty.
#   * 127.0.0.1 reverse-resolves to "localhost" (first /etc/hosts entry) while the host calls
#     itself "vm": every command fails with "access denied (client IP resolved to host name
#     localhost ...)" -> host_aliases maps the reverse name to the host name.
#   * Debian's min_uid/min_gid 1000 make root's jobs fail -> 0.
#   * the scheduler runs every 15 s by default -> every second + flush on submit/finish.
#   * a fresh install has no queue, exec host or PE -> created here (qconf -A*/-M*, idempotent).
#   * the default queue template's load_thresholds np_load_avg=1.75 puts 8 slots on 2 busy
#     cores into alarm state -> NONE.
#   * a stopping qmaster takes seconds to exit -> stop waits up to 30 s per daemon.
#   * gridengine-client Conflicts with slurm-wlm-torque (both ship /usr/bin/qsub): installing
#     one with apt removes the other; pbs-via-slurm-up.sh therefore unpacks into /opt.
# Logs: /var/spool/gridengine/qmaster/messages, /var/spool/gridengine/execd/*/messages
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ACTION=${1:-up}
SGE_SLOTS=${SGE_SLOTS:-8}
SGE_READY_TIMEOUT=${SGE_READY_TIMEOUT:-90}
SGE_FAIL_FAST=${SGE_FAIL_FAST:-1}
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
COMMON=$SGE_ROOT/$SGE_CELL/common
SPOOL=/var/spool/gridengine
QPID=$SPOOL/qmaster/qmaster.pid
log() { echo "[sge-up] $*" >&2; }
pid_alive() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
execd_pidfile() { ls $SPOOL/execd/*/execd.pid 2>/dev/null | head -1 || true; }
stop_pidfile() {
  local f=$1
  [ -n "$f" ] && pid_alive "$f" || return 0
  log "stopping $(basename "$f" .pid) (pid $(cat "$f"))"
  kill "$(cat "$f")" 2>/dev/null || true
  for _ in $(seq 1 300); do pid_alive "$f" || return 0; sleep 0.1; done
  kill -9 "$(cat "$f")" 2>/dev/null || true
}

case "$ACTION" in
  stop) [ "$(id -u)" = 0 ] || { echo "sge-up.sh stop must run as root" >&2; exit 1; }
        stop_pidfile "$(execd_pidfile)"; stop_pidfile "$QPID"; exit 0 ;;
  status)
    if pid_alive "$QPID"; then echo "sge_qmaster: up"; else echo "sge_qmaster: down"; fi
    f=$(execd_pidfile); if [ -n "$f" ] && pid_alive "$f"; then echo "sge_execd: up"; else echo "sge_execd: down"; fi
    qstat -f 2>/dev/null || true
    exit 0 ;;
  up) ;;
  *) echo "usage: $0 [up|stop|status]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "sge-up.sh must run as root (it installs packages and starts daemons)" >&2; exit 1; }

H=$(hostname)
if ! getent hosts "$H" >/dev/null; then
  log "adding '127.0.0.1 $H' to /etc/hosts"
  echo "127.0.0.1 $H" >> /etc/hosts
fi

# ---------------------------------------------------------------- packages
need_install=0
for p in gridengine-master gridengine-exec gridengine-client; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_install=1
done
if [ "$need_install" = 1 ]; then
  if dpkg-query -W -f='${Status}' slurm-wlm-torque 2>/dev/null | grep -q 'install ok installed'; then
    log "WARNING: slurm-wlm-torque is installed with dpkg and conflicts with gridengine-client; apt will remove it"
    log "         (pbs-via-slurm-up.sh keeps its own copy of the wrappers in /opt/pbs-via-slurm)"
  fi
  for pkg in gridengine-common gridengine-master gridengine-exec gridengine-client; do
    printf '%s shared/gridengineconfig boolean true\n%s shared/gridenginecell string default\n%s shared/gridenginemaster string %s\n' \
      "$pkg" "$pkg" "$pkg" "$H"
  done | debconf-set-selections
  APT_ENSURE_TAG=sge-up "$HERE/../apt-ensure.sh" gridengine-master gridengine-exec gridengine-client
fi

# ---------------------------------------------------------------- cell files
# (the master's postinst ran init_cluster when debconf said "configure"; redo what is missing)
if [ ! -e $SPOOL/spooldb/sge ]; then
  log "initialising the cluster spool"
  mkdir -p $SPOOL/qmaster/job_scripts $SPOOL/spooldb $SPOOL/execd "$COMMON"
  chown -R sgeadmin:sgeadmin $SPOOL "$SGE_ROOT/$SGE_CELL"
  [ -f "$COMMON/bootstrap" ] || install -m0644 -o sgeadmin -g sgeadmin /usr/share/gridengine/default-bootstrap "$COMMON/bootstrap"
  su -s /bin/sh -c "/usr/share/gridengine/scripts/init_cluster $SGE_ROOT $SGE_CELL $SPOOL/spooldb sgeadmin" sgeadmin >/dev/null
fi
echo "$H" > "$COMMON/act_qmaster"
# host_aliases: map the reverse-lookup name of our address (e.g. "localhost") to $H
ip=$(getent ahostsv4 "$H" | awk 'NR==1{print $1}')
rev=$(getent hosts "$ip" | awk '{print $2}')
aliases_changed=0
if [ -n "$rev" ] && [ "$rev" != "$H" ]; then
  if [ "$(cat "$COMMON/host_aliases" 2>/dev/null)" != "$H $rev" ]; then echo "$H $rev" > "$COMMON/host_aliases"; aliases_changed=1; fi
elif [ -e "$COMMON/host_aliases" ]; then
  rm -f "$COMMON/host_aliases"; aliases_changed=1
fi
chown sgeadmin:sgeadmin "$COMMON/act_qmaster" "$COMMON"/host_aliases 2>/dev/null || true
mkdir -p /run/gridengine && chown sgeadmin:sgeadmin /run/gridengine
if [ "$aliases_changed" = 1 ] && pid_alive "$QPID"; then
  log "host_aliases changed: restarting the daemons"
  stop_pidfile "$(execd_pidfile)"; stop_pidfile "$QPID"
fi

# ---------------------------------------------------------------- qmaster
if ! pid_alive "$QPID"; then
  log "starting sge_qmaster"
  /usr/lib/gridengine/sge_qmaster
fi
deadline=$(( $(date +%s) + SGE_READY_TIMEOUT ))
until qconf -sh >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "[sge-up] sge_qmaster does not answer after ${SGE_READY_TIMEOUT}s:" >&2
    qconf -sh >&2 || true; tail -n 5 $SPOOL/qmaster/messages >&2 || true; exit 1
  fi
  sleep 0.3
done

# ---------------------------------------------------------------- configuration
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
qc() { local o; o=$(qconf "$@" 2>&1) || { echo "[sge-up] qconf $*: $o" >&2; return 1; }; }
# a configuration is applied only when it differs from the one in force (whitespace
# aside), which keeps re-runs quick and the spool quiet
unchanged() { # file qconf-show-args...
  local file=$1; shift
  [ "$(qconf "$@" 2>/dev/null | tr -s ' \t' ' ')" = "$(tr -s ' \t' ' ' < "$file")" ]
}
qconf -sconf global | sed \
  -e 's/^min_uid .*/min_uid                      0/' \
  -e 's/^min_gid .*/min_gid                      0/' \
  -e 's/^load_report_time .*/load_report_time             00:00:05/' > "$d/global"
unchanged "$d/global" -sconf global || qc -Mconf "$d/global"
qconf -ssconf | sed \
  -e 's/^schedule_interval .*/schedule_interval                 0:0:1/' \
  -e 's/^flush_submit_sec .*/flush_submit_sec                  1/' \
  -e 's/^flush_finish_sec .*/flush_finish_sec                  1/' > "$d/sconf"
unchanged "$d/sconf" -ssconf || qc -Msconf "$d/sconf"
qconf -ss 2>/dev/null | grep -qx "$H" || qc -as "$H"
qconf -sh 2>/dev/null | grep -qx "$H" || qc -ah "$H"
if ! qconf -sel 2>/dev/null | grep -qx "$H"; then
  printf 'hostname %s\nload_scaling NONE\ncomplex_values NONE\nuser_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\nreport_variables NONE\n' "$H" > "$d/eh"
  qc -Ae "$d/eh"
fi
printf 'group_name @allhosts\nhostlist %s\n' "$H" > "$d/hg"
if ! qconf -shgrpl 2>/dev/null | grep -qx '@allhosts'; then qc -Ahgrp "$d/hg"
elif ! unchanged "$d/hg" -shgrp @allhosts; then qc -Mhgrp "$d/hg"; fi
pe() { # name allocation_rule control_slaves job_is_first_task
  printf 'pe_name %s\nslots 9999\nuser_lists NONE\nxuser_lists NONE\nstart_proc_args NONE\nstop_proc_args NONE\nallocation_rule %s\ncontrol_slaves %s\njob_is_first_task %s\nurgency_slots min\naccounting_summary FALSE\nqsort_args NONE\n' "$@" > "$d/pe_$1"
  if ! qconf -spl 2>/dev/null | grep -qx "$1"; then qc -Ap "$d/pe_$1"
  elif ! unchanged "$d/pe_$1" -sp "$1"; then qc -Mp "$d/pe_$1"; fi
}
pe smp '$pe_slots' FALSE TRUE
pe mpi '$fill_up' TRUE FALSE
cat > "$d/q" <<QEOF
qname                 all.q
hostlist              @allhosts
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               smp mpi
rerun                 FALSE
slots                 $SGE_SLOTS
tmpdir                /tmp
shell                 /bin/bash
prolog                NONE
epilog                NONE
shell_start_mode      posix_compliant
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
QEOF
if ! qconf -sql 2>/dev/null | grep -qx all.q; then qc -Aq "$d/q"
elif ! unchanged "$d/q" -sq all.q; then qc -Mq "$d/q"; fi
if [ "$SGE_FAIL_FAST" = 1 ]; then
  grep -qx -- '-w e' "$COMMON/sge_request" 2>/dev/null || echo '-w e' >> "$COMMON/sge_request"
elif [ -f "$COMMON/sge_request" ]; then
  sed -i '/^-w e$/d' "$COMMON/sge_request"
fi

# ---------------------------------------------------------------- execd
f=$(execd_pidfile)
if [ -z "$f" ] || ! pid_alive "$f"; then
  log "starting sge_execd"
  /usr/lib/gridengine/sge_execd
fi
# wait until the queue instance is known and has no (u)nknown/(a)larm/(E)rror/(d)isabled flag
while :; do
  st=$(qstat -f -q "all.q@$H" 2>/dev/null | awk -v q="all.q@$H" '$1==q{print ($6==""?"ok":$6)}')
  [ "$st" = ok ] && break
  case "$st" in *E*) qmod -c "all.q@$H" >/dev/null 2>&1 || true ;; esac
  case "$st" in *d*) qmod -e "all.q@$H" >/dev/null 2>&1 || true ;; esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "[sge-up] queue all.q@$H not ready after ${SGE_READY_TIMEOUT}s (state '$st'):" >&2; qstat -f >&2 || true; exit 1
  fi
  sleep 0.3
done

# ---------------------------------------------------------------- smoke test
if ! out=$(cd /tmp && timeout "$SGE_READY_TIMEOUT" qsub -sync y -b y -N sge_smoke -o /dev/null -j y true 2>&1); then
  echo "[sge-up] SGE smoke job failed: $out" >&2; exit 1
fi
log "ready: all.q@$H with $SGE_SLOTS slots, PEs smp+mpi ($(echo "$out" | tail -1))"
