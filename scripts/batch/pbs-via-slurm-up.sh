#!/usr/bin/env bash
# pbs-via-slurm-up.sh [up|stop|status] -- PBS/Torque-style commands (qsub, qstat, qdel,
# qalter, qhold, qrls, qrerun, pbsnodes) on top of the one-node Slurm of slurm-up.sh.
#
# No real PBS (Torque, OpenPBS, PBS Pro) is packaged for Debian 12, and OpenPBS refuses
# loopback-only hosts. So this uses Debian's slurm-wlm-torque Perl wrappers, which translate
# qsub options to sbatch; sbatch itself reads the #PBS lines of a job script.
#
# The wrappers are NOT installed with dpkg: slurm-wlm-torque Conflicts with gridengine-client
# (both ship /usr/bin/qsub, and apt would remove all of Grid Engine). They are unpacked with
# `apt-get download` + `dpkg-deb -x` into
#     $PBS_PREFIX/bin          (default /opt/pbs-via-slurm/bin)
# next to symlinks to sbatch & co. (the wrappers call ${FindBin::Bin}/sbatch). Use them as
#     PATH=/opt/pbs-via-slurm/bin:$PATH qsub job.pbs      or  /opt/pbs-via-slurm/bin/qsub job.pbs
# while /usr/bin/qsub stays Grid Engine's (sge-up.sh). PBS_LINK=1 also symlinks them into
# /usr/local/bin, which shadows Grid Engine's qsub.
#
#   PBS_PATCH_QSUB=1   apply pbs-qsub-patch.pl (next to this script) to qsub: job script on
#                      stdin, scripts without "#!", #PBS -N/-o/-e/-j/-J/-t honoured by the
#                      wrapper; plus repeated -l options accumulate (stock: last one wins).
#                      0 = stock wrapper.
#   PBS_PREFIX=/opt/pbs-via-slurm
#   PBS_LINK=0
#   SLURM_*            passed on to slurm-up.sh (use the same values as for its own calls)
# It also enables Slurm's spank_pbs plugin (PBS_JOBID, PBS_JOBNAME, PBS_O_WORKDIR, ...) and a
# TaskProlog snippet setting PBS_NODEFILE, PBS_NP, PBS_NUM_NODES, PBS_NUM_PPN, PBS_QUEUE,
# PBS_ARRAYID/PBS_ARRAY_INDEX. `up` returns after a #PBS job ran; `stop` stops Slurm.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ACTION=${1:-up}
PBS_PREFIX=${PBS_PREFIX:-/opt/pbs-via-slurm}
PBS_PATCH_QSUB=${PBS_PATCH_QSUB:-1}
PBS_LINK=${PBS_LINK:-0}
PATCH_FILE=$HERE/pbs-qsub-patch.pl
log() { echo "[pbs-up] $*" >&2; }

case "$ACTION" in
  stop)   exec "$HERE/slurm-up.sh" stop ;;
  status) "$HERE/slurm-up.sh" status
          if [ -x "$PBS_PREFIX/bin/qsub" ]; then echo "pbs wrappers: $PBS_PREFIX/bin"; else echo "pbs wrappers: not unpacked"; fi
          exit 0 ;;
  up) ;;
  *) echo "usage: $0 [up|stop|status]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "pbs-via-slurm-up.sh must run as root" >&2; exit 1; }

"$HERE/slurm-up.sh" up

# ---------------------------------------------------------------- wrappers
# Perl modules the wrappers use (Slurm, Slurmdb, Switch); marked manual so that
# `apt autoremove` keeps them although nothing installed depends on them.
if ! APT_ENSURE_TAG=pbs-up "$HERE/../apt-ensure.sh" libslurm-perl libslurmdb-perl libswitch-perl; then exit 1; fi
apt-mark manual libslurm-perl libslurmdb-perl libswitch-perl >/dev/null 2>&1 || true

# the marker names the patch content, so a changed patch re-unpacks the wrappers
if [ "$PBS_PATCH_QSUB" = 1 ]; then mark=patched-$(sha256sum "$PATCH_FILE" | cut -c1-16); else mark=stock; fi
if [ ! -x "$PBS_PREFIX/bin/qsub" ] || [ ! -f "$PBS_PREFIX/.wrappers-$mark" ]; then
  tmp=$(mktemp -d); chown _apt "$tmp" 2>/dev/null || true   # apt-get download runs as _apt
  trap 'rm -rf "$tmp"' EXIT
  if dpkg-query -W -f='${Status}' slurm-wlm-torque 2>/dev/null | grep -q 'install ok installed'; then
    log "copying the wrappers of the installed slurm-wlm-torque into $PBS_PREFIX"
    mkdir -p "$tmp/usr/bin"
    for f in $(dpkg -L slurm-wlm-torque | grep '^/usr/bin/'); do cp "$f" "$tmp/usr/bin/"; done
  else
    log "unpacking slurm-wlm-torque into $PBS_PREFIX (apt-get download, not installed)"
    ( cd "$tmp" && apt-get download -qq slurm-wlm-torque >/dev/null 2>&1 \
        || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get download -qq slurm-wlm-torque >/dev/null; } ) \
      || { echo "[pbs-up] apt-get download slurm-wlm-torque failed" >&2; exit 1; }
    dpkg-deb -x "$tmp"/slurm-wlm-torque_*.deb "$tmp"
  fi
  mkdir -p "$PBS_PREFIX/bin"
  rm -f "$PBS_PREFIX"/.wrappers-* "$PBS_PREFIX"/.patch*
  cp "$tmp"/usr/bin/* "$PBS_PREFIX/bin/"
  for b in sbatch salloc srun scancel squeue scontrol sinfo; do ln -sf "/usr/bin/$b" "$PBS_PREFIX/bin/$b"; done
  if [ "$PBS_PATCH_QSUB" = 1 ]; then
    # insert the patch right after the wrapper has joined its arguments into $script
    PATCH="$PATCH_FILE" perl -0pi -e '
      BEGIN { local $/; open my $p, "<", $ENV{PATCH} or die "cannot read $ENV{PATCH}: $!\n"; $patch = <$p>; }
      s/(\n\s*chop\(\$script\);\n\}\n)/$1\n$patch/ or die "qsub patch anchor not found\n";
    ' "$PBS_PREFIX/bin/qsub"
    # repeated -l options accumulate, as in Torque (stock: only the last one is kept)
    perl -pi -e 's/^(\s*)\x27l=s\x27(\s*)=> \\\$resource_list,/$1\x27l=s\x27$2=> sub { \$resource_list = defined \$resource_list ? "\$resource_list,\$_[1]" : \$_[1] },/' "$PBS_PREFIX/bin/qsub"
    grep -q 'resource_list = defined' "$PBS_PREFIX/bin/qsub" || { echo "[pbs-up] qsub -l patch anchor not found" >&2; exit 1; }
    perl -c "$PBS_PREFIX/bin/qsub" >/dev/null 2>&1 || { echo "[pbs-up] patched qsub does not compile:" >&2; perl -c "$PBS_PREFIX/bin/qsub" >&2; exit 1; }
  fi
  touch "$PBS_PREFIX/.wrappers-$mark"
fi
if [ "$PBS_LINK" = 1 ]; then
  for f in qsub qstat qdel qalter qhold qrls qrerun pbsnodes generate_pbs_nodefile; do
    ln -sf "$PBS_PREFIX/bin/$f" "/usr/local/bin/$f"
  done
fi

# ---------------------------------------------------------------- job environment
mkdir -p /etc/slurm/plugstack.conf.d /etc/slurm/taskprolog.d
echo "optional spank_pbs.so" > /etc/slurm/plugstack.conf.d/pbs.conf
cat > /etc/slurm/taskprolog.d/pbs.sh <<'TPEOF'
# generated by pbs-via-slurm-up.sh; sourced by /etc/slurm/taskprolog.sh, prints "export" lines
if [ -n "${SLURM_JOB_ID:-}" ]; then
  _nf="${TMPDIR:-/tmp}/pbs_nodefile.${SLURM_JOB_ID}"
  if [ ! -s "$_nf" ]; then
    _n=${SLURM_NTASKS:-${SLURM_CPUS_ON_NODE:-1}}
    _h=$(hostname -s)
    _i=0; : > "$_nf.$$"
    while [ "$_i" -lt "$_n" ]; do echo "$_h" >> "$_nf.$$"; _i=$((_i+1)); done
    mv -f "$_nf.$$" "$_nf"
  fi
  echo "export PBS_NODEFILE=$_nf"
  echo "export PBS_NP=${SLURM_NTASKS:-${SLURM_CPUS_ON_NODE:-1}}"
  echo "export PBS_NUM_NODES=${SLURM_JOB_NUM_NODES:-1}"
  echo "export PBS_NUM_PPN=${SLURM_NTASKS_PER_NODE:-${SLURM_NTASKS:-${SLURM_CPUS_ON_NODE:-1}}}"
  echo "export PBS_QUEUE=${SLURM_JOB_PARTITION:-}"
  if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    echo "export PBS_ARRAYID=${SLURM_ARRAY_TASK_ID}"
    echo "export PBS_ARRAY_INDEX=${SLURM_ARRAY_TASK_ID}"
  fi
fi
TPEOF

# ---------------------------------------------------------------- smoke test
t=$(mktemp -d); chmod 755 "$t"
printf '#!/bin/bash\n#PBS -N pbs_smoke\n#PBS -l nodes=1:ppn=1,walltime=00:01:00\n#PBS -j oe\n#PBS -o %s/smoke.out\necho "ok $PBS_JOBID $PBS_NODEFILE"\n' "$t" > "$t/smoke.pbs"
jid=$(cd "$t" && "$PBS_PREFIX/bin/qsub" smoke.pbs)
# (with PBS_PATCH_QSUB=0 the wrapper ignores "#PBS -o": output lands in pbs_smoke.o<jobid>)
for _ in $(seq 1 240); do grep -qs "^ok $jid /" "$t"/smoke.out "$t"/pbs_smoke.o* && break; sleep 0.25; done
if ! grep -qs "^ok $jid /" "$t"/smoke.out "$t"/pbs_smoke.o*; then
  echo "[pbs-up] PBS smoke job '$jid' did not run as expected: $(cat "$t"/smoke.out "$t"/pbs_smoke.o* 2>&1)" >&2
  rm -rf "$t"; exit 1
fi
rm -rf "$t"
log "ready: PBS wrappers in $PBS_PREFIX/bin (smoke job $jid ran with PBS_JOBID and PBS_NODEFILE)"
