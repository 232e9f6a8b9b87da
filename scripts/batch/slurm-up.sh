#!/usr/bin/env bash
# slurm-up.sh [up|stop|status] -- a one-node Slurm cluster on this host, for tests.
#
# Installs Debian's Slurm (slurmctld, slurmd, slurm-client, munge) when missing and starts
# munged, slurmctld and slurmd by hand (no systemd needed; Debian's policy-rc.d in
# containers keeps postinst from starting them). Idempotent: when everything is up it only
# re-checks health (well under a second). `up` returns only after a real job ran through
# srun, and fails with the daemons' last log lines otherwise. `stop` stops only the daemons
# this script starts (by pid file); installed packages stay.
#
# Environment (pass the same values on every call: a changed slurm.conf restarts the
# daemons; running jobs survive that):
#   SLURM_CPUS=8          CPUs advertised for the node; more than the real cores is fine
#                         (SlurmdParameters=config_overrides), so several jobs run at once
#   SLURM_MEM_MB=<auto>   RealMemory advertised (default: MemTotal - 1024 MB)
#   SLURM_MPI=1           also install OpenMPI and set MpiDefault=pmix, so a plain
#                         `srun ./mpi_prog` works (Debian's OpenMPI 4.1 has PMIx, no PMI-2)
#   SLURM_ACCOUNTING=0    1 = also MariaDB + slurmdbd so that `sacct` answers (~16 s install)
#   SLURM_READY_TIMEOUT=60  seconds to wait for the node and for the smoke job
#
# Pitfalls this script handles (learned on Debian 12, Slurm 22.05.8):
#   * slurmd always loads a cgroup plugin; autodetect works on cgroup-v1/hybrid hosts, on a
#     pure cgroup-v2 host without systemd cgroup.conf must say IgnoreSystemd=yes.
#   * jobs that can never fit would stay PENDING forever -> EnforcePartLimits=ALL rejects
#     them at submit time.
#   * without DefMemPerCPU a job without --mem takes the node's whole memory.
#   * OpenMPI under srun needs --mpi=pmix (pmi2/none fail in MPI_Init) -> MpiDefault=pmix.
#   * the node name (`hostname -s`) must resolve; it is added to /etc/hosts if it does not.
# Logs: /var/log/slurm/{slurmctld,slurmd,slurmdbd}.log
set -euo pipefail

ACTION=${1:-up}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLURM_CPUS=${SLURM_CPUS:-8}
SLURM_MPI=${SLURM_MPI:-1}
SLURM_ACCOUNTING=${SLURM_ACCOUNTING:-0}
SLURM_READY_TIMEOUT=${SLURM_READY_TIMEOUT:-60}
CONF=/etc/slurm/slurm.conf
LOGDIR=/var/log/slurm
STATEDIR=/var/lib/slurm
RUNDIR=/run/slurm
MUNGE_PID=/run/munge/munged.pid
DB_MARK=$RUNDIR/.mariadb-started-here

log() { echo "[slurm-up] $*" >&2; }
pid_alive() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
stop_pidfile() { # stop the process of pid file $1, wait up to 30 s, then SIGKILL
  local f=$1
  pid_alive "$f" || return 0
  log "stopping $(basename "$f" .pid) (pid $(cat "$f"))"
  kill "$(cat "$f")" 2>/dev/null || true
  for _ in $(seq 1 300); do pid_alive "$f" || return 0; sleep 0.1; done
  kill -9 "$(cat "$f")" 2>/dev/null || true
}

stop_all() {
  local f
  for f in $RUNDIR/slurmd.pid $RUNDIR/slurmctld.pid $RUNDIR/slurmdbd.pid; do stop_pidfile "$f"; rm -f "$f"; done
  # MariaDB only if this script started it (someone else's database is left alone)
  if [ -e $DB_MARK ]; then stop_pidfile /run/mysqld/mysqld.pid; rm -f $DB_MARK; fi
  stop_pidfile $MUNGE_PID; rm -f $MUNGE_PID
}

case "$ACTION" in
  stop) [ "$(id -u)" = 0 ] || { echo "slurm-up.sh stop must run as root" >&2; exit 1; }; stop_all; exit 0 ;;
  status)
    for d in munge/munged slurm/slurmctld slurm/slurmd slurm/slurmdbd; do
      if pid_alive "/run/$d.pid"; then echo "$(basename $d): up"; else echo "$(basename $d): down"; fi
    done
    sinfo 2>/dev/null || true
    exit 0 ;;
  up) ;;
  *) echo "usage: $0 [up|stop|status]" >&2; exit 2 ;;
esac

[ "$(id -u)" = 0 ] || { echo "slurm-up.sh must run as root (it installs packages and starts daemons)" >&2; exit 1; }

# ---------------------------------------------------------------- packages
pkgs=(slurmctld slurmd slurm-client munge)
[ "$SLURM_MPI" = 1 ] && pkgs+=(openmpi-bin libopenmpi-dev)
[ "$SLURM_ACCOUNTING" = 1 ] && pkgs+=(mariadb-server slurmdbd)
APT_ENSURE_TAG=slurm-up "$HERE/../apt-ensure.sh" "${pkgs[@]}"

# ---------------------------------------------------------------- host name
# slurmd identifies itself by `hostname -s`, which must equal NodeName and resolve.
NODE=$(hostname -s)
if ! getent hosts "$NODE" >/dev/null; then
  log "adding '127.0.0.1 $NODE' to /etc/hosts"
  echo "127.0.0.1 $NODE" >> /etc/hosts
fi

# ---------------------------------------------------------------- munge
if ! pid_alive $MUNGE_PID; then
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating munge key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force
    else dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; fi
  fi
  chown -R munge:munge /etc/munge; chmod 700 /etc/munge; chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge; chmod 755 /run/munge
  rm -f /run/munge/munge.socket.2.lock
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged
fi
for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null || { echo "[slurm-up] munge does not work; see /var/log/munge/munged.log" >&2; exit 1; }

# ---------------------------------------------------------------- slurm.conf
MPI_DEFAULT=none
[ "$SLURM_MPI" = 1 ] && MPI_DEFAULT=pmix
ACCT_STORAGE=accounting_storage/none
[ "$SLURM_ACCOUNTING" = 1 ] && ACCT_STORAGE=accounting_storage/slurmdbd
MEM_MB=${SLURM_MEM_MB:-$(( $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) - 1024 ))}
mkdir -p /etc/slurm $LOGDIR $STATEDIR/slurmctld $STATEDIR/slurmd $RUNDIR
chown slurm:slurm $LOGDIR $STATEDIR $STATEDIR/slurmctld
cat > $CONF.new <<CONFEOF
# generated by the project's scripts/batch/slurm-up.sh -- edits are overwritten
ClusterName=ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=$MPI_DEFAULT
# no cgroup-based process tracking or affinity (containers, no systemd)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=$ACCT_STORAGE
AccountingStorageHost=localhost
JobCompType=jobcomp/none
# runs /etc/slurm/taskprolog.d/*.sh before each task; their "export K=V" output lines set
# the task's environment (pbs-via-slurm-up.sh puts PBS_NODEFILE etc. there)
TaskProlog=/etc/slurm/taskprolog.sh
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# schedule right after submit and job end
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
MessageTimeout=20
# the node may advertise more CPUs / memory than the hardware has
SlurmdParameters=config_overrides
ReturnToService=2
# reject jobs that can never fit instead of leaving them PENDING forever
EnforcePartLimits=ALL
StateSaveLocation=$STATEDIR/slurmctld
SlurmdSpoolDir=$STATEDIR/slurmd
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldPort=6817
SlurmdPort=6818
MaxArraySize=10001
# finished jobs stay visible to squeue -t all / scontrol for 5 minutes
MinJobAge=300
KillWait=5
InactiveLimit=0
# a job without --mem gets 512 MB per CPU, not the whole node
DefMemPerCPU=512
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$SLURM_CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
PartitionName=batch Nodes=$NODE Default=NO MaxTime=INFINITE State=UP
CONFEOF
mkdir -p /etc/slurm/taskprolog.d /etc/slurm/plugstack.conf.d
cat > /etc/slurm/taskprolog.sh <<'TPEOF'
#!/bin/sh
# generated by slurm-up.sh: Slurm's TaskProlog; each snippet prints "export K=V" lines
for f in /etc/slurm/taskprolog.d/*.sh; do [ -r "$f" ] && . "$f"; done
exit 0
TPEOF
chmod 755 /etc/slurm/taskprolog.sh
CONF_CHANGED=0
if cmp -s $CONF.new $CONF; then rm -f $CONF.new; else mv $CONF.new $CONF; CONF_CHANGED=1; fi
chmod 644 $CONF
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && [ ! -d /run/systemd/system ]; then
  # pure cgroup v2 without systemd: cgroup/v2 must not try to talk to systemd over dbus
  printf 'CgroupPlugin=cgroup/v2\nIgnoreSystemd=yes\n' > /etc/slurm/cgroup.conf
fi
if [ "$CONF_CHANGED" = 1 ] && { pid_alive $RUNDIR/slurmctld.pid || pid_alive $RUNDIR/slurmd.pid; }; then
  log "slurm.conf changed: restarting slurmd and slurmctld"
  stop_pidfile $RUNDIR/slurmd.pid
  stop_pidfile $RUNDIR/slurmctld.pid
fi

# ---------------------------------------------------------------- accounting (optional)
if [ "$SLURM_ACCOUNTING" = 1 ]; then
  if ! mariadb-admin ping >/dev/null 2>&1; then
    log "starting mariadb (unix socket only)"
    touch $DB_MARK
    mkdir -p /run/mysqld /var/log/mysql && chown mysql:mysql /run/mysqld /var/log/mysql
    (setsid /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
       --pid-file=/run/mysqld/mysqld.pid --skip-networking --innodb-buffer-pool-size=128M \
       --log-error=/var/log/mysql/error.log </dev/null >/dev/null 2>&1 &)
    for _ in $(seq 1 100); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.2; done
    mariadb-admin ping >/dev/null || { echo "[slurm-up] mariadb did not start:" >&2; tail /var/log/mysql/error.log >&2; exit 1; }
  fi
  mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db; CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmdbpw'; ALTER USER 'slurm'@'localhost' IDENTIFIED BY 'slurmdbpw'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  cat > /etc/slurm/slurmdbd.conf <<DBDEOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=slurm
DebugLevel=info
LogFile=$LOGDIR/slurmdbd.log
PidFile=$RUNDIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmdbpw
DBDEOF
  chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 600 /etc/slurm/slurmdbd.conf
  if ! pid_alive $RUNDIR/slurmdbd.pid; then
    log "starting slurmdbd"
    /usr/sbin/slurmdbd || { tail -n 15 $LOGDIR/slurmdbd.log >&2; exit 1; }
  fi
  for _ in $(seq 1 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
  sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx ci || sacctmgr -i add cluster ci >/dev/null
fi

# ---------------------------------------------------------------- daemons
die_log() { echo "[slurm-up] $1 failed to start; last lines of $LOGDIR/$1.log:" >&2; tail -n 15 "$LOGDIR/$1.log" >&2 || true; exit 1; }
if ! pid_alive $RUNDIR/slurmctld.pid; then log "starting slurmctld"; /usr/sbin/slurmctld || die_log slurmctld; fi
if ! pid_alive $RUNDIR/slurmd.pid; then log "starting slurmd"; /usr/sbin/slurmd || die_log slurmd; fi

# ---------------------------------------------------------------- ready?
deadline=$(( $(date +%s) + SLURM_READY_TIMEOUT ))
state=
while :; do
  state=$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -1 || true)
  case "$state" in idle|mixed|allocated|completing) break ;; esac
  case "$state" in drain*|down*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;; esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "[slurm-up] node $NODE not ready after ${SLURM_READY_TIMEOUT}s (state '$state'):" >&2
    tail -n 20 $LOGDIR/slurmctld.log $LOGDIR/slurmd.log >&2 || true
    exit 1
  fi
  sleep 0.3
done
# smoke test: a real job step through slurmstepd
if ! out=$(timeout "$SLURM_READY_TIMEOUT" srun -N1 -n1 -t 1 hostname 2>&1); then
  echo "[slurm-up] srun smoke test failed: $out" >&2; exit 1
fi
log "ready: node $NODE ($state) cpus=$SLURM_CPUS mem=${MEM_MB}MB MpiDefault=$MPI_DEFAULT (srun hostname -> $(echo "$out" | tail -1))"
