#!/usr/bin/env bash
# scheduler-selftest.sh [slurm] [pbs] [sge] -- check that the batch systems started by
# slurm-up.sh, pbs-via-slurm-up.sh and sge-up.sh behave the way the project's job-queue
# adapters and tests rely on: submit real jobs in each system's own directive syntax, parse
# the job id from the submit output as a client would, wait for the output, query status,
# cancel, job arrays, exit codes, rejection of impossible requests (EnforcePartLimits /
# "-w e"), and MPI (OpenMPI under srun with MpiDefault=pmix, mpirun inside sbatch and inside
# an SGE parallel environment) when mpicc is installed.
# Default: all three. Prints "PASS"/"FAIL" lines and ends with "N passed, N failed";
# exits non-zero when a check failed. Waits by polling (no fixed sleeps), each wait bounded
# by SELFTEST_TIMEOUT seconds (default 60).
set -uo pipefail
TIMEOUT=${SELFTEST_TIMEOUT:-60}
PBS_BIN=${PBS_PREFIX:-/opt/pbs-via-slurm}/bin
W=$(mktemp -d /tmp/scheduler-selftest.XXXXXX); chmod 755 "$W"; cd "$W" || exit 1
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
pass=0; fail=0
t0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1fs", b-a}'; }
ok()  { echo "PASS [$(since "$t0")] $*"; pass=$((pass+1)); }
bad() { echo "FAIL [$(since "$t0")] $*"; fail=$((fail+1)); }
check() { # description command... : PASS when the command succeeds
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
# poll until "$@" succeeds, at most $TIMEOUT seconds
until_true() { local end=$(( $(date +%s) + TIMEOUT )); until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.2; done; }
file_has() { [ -s "$1" ] && grep -q -- "$2" "$1"; }
lines_matching() { grep -c -- "$2" "$1" 2>/dev/null || true; }

mpi_hello=
if command -v mpicc >/dev/null; then
  cat > hello.c <<'CEOF'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int rank, size, sum;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  printf("rank %d/%d sum %d\n", rank, size, sum);
  MPI_Finalize();
  return 0;
}
CEOF
  if mpicc -o hello hello.c 2>"$W/mpicc.err"; then mpi_hello=$W/hello; else bad "mpicc hello.c: $(cat "$W/mpicc.err")"; fi
fi

want=("$@"); [ ${#want[@]} -gt 0 ] || want=(slurm pbs sge)
for s in "${want[@]}"; do case "$s" in
slurm)
  slurm_state() { squeue -h -t all -j "$1" -o %T 2>/dev/null; }
  state_is() { [ "$(slurm_state "$1")" = "$2" ]; }
  cat > job.sbatch <<JEOF
#!/bin/bash
#SBATCH -J st_slurm
#SBATCH -n 1
#SBATCH --cpus-per-task=2
#SBATCH --mem=256M
#SBATCH -t 00:02:00
#SBATCH -o $W/slurm-%j.out
echo "ran \$SLURM_JOB_ID cpus=\$SLURM_CPUS_PER_TASK name=\$SLURM_JOB_NAME"
JEOF
  out=$(sbatch job.sbatch 2>&1); jid=$(sed -n 's/^Submitted batch job \([0-9][0-9]*\).*/\1/p' <<<"$out")
  if [ -n "$jid" ]; then ok "slurm: sbatch #SBATCH script -> job $jid"; else bad "slurm: sbatch: $out"; fi
  check "slurm: job output (SLURM_CPUS_PER_TASK=2, job name)" until_true file_has "$W/slurm-$jid.out" "^ran $jid cpus=2 name=st_slurm$"
  check "slurm: squeue -t all -> COMPLETED" until_true state_is "$jid" COMPLETED
  j2=$(sbatch --parsable -o /dev/null --wrap 'sleep 300')
  check "slurm: sbatch --parsable -> $j2, squeue -> RUNNING" until_true state_is "$j2" RUNNING
  scancel "$j2"
  check "slurm: scancel -> CANCELLED" until_true state_is "$j2" CANCELLED
  j3=$(sbatch --parsable -o /dev/null --wrap 'exit 3')
  exit_code_is_3() { scontrol show job "$j3" 2>/dev/null | grep -q 'ExitCode=3:0'; }
  check "slurm: failing job -> FAILED, ExitCode=3:0" until_true exit_code_is_3
  ja=$(sbatch --parsable --array=1-3 -o "$W/arr-%A_%a.out" --wrap 'echo task $SLURM_ARRAY_TASK_ID')
  array_done() { for i in 1 2 3; do file_has "$W/arr-${ja}_$i.out" "^task $i$" || return 1; done; }
  check "slurm: job array 1-3 (%A_%a outputs, SLURM_ARRAY_TASK_ID)" until_true array_done
  if out=$(sbatch -n 64 -o /dev/null --wrap true 2>&1); then
    bad "slurm: impossible job (-n 64) was accepted: $out"; scancel "${out##* }" 2>/dev/null
  else ok "slurm: impossible job (-n 64) rejected at submit (EnforcePartLimits)"; fi
  if [ -n "$mpi_hello" ]; then
    n=$(timeout "$TIMEOUT" srun -n 3 "$mpi_hello" 2>"$W/srun.err" | grep -c '/3 sum 3$')
    if [ "$n" = 3 ]; then ok "slurm: plain srun -n 3 of an OpenMPI program (MpiDefault=pmix)"
    else bad "slurm: srun -n 3 MPI: $n ranks; $(tail -3 "$W/srun.err")"; fi
    jm=$(sbatch --parsable -n 3 -o "$W/mpi-%j.out" --wrap "mpirun $mpi_hello")
    if until_true state_is "$jm" COMPLETED && [ "$(lines_matching "$W/mpi-$jm.out" '/3 sum 3$')" = 3 ]; then
      ok "slurm: mpirun inside sbatch -n 3 (3 ranks)"
    else bad "slurm: mpirun inside sbatch -n 3: state $(slurm_state "$jm"), output: $(cat "$W/mpi-$jm.out" 2>&1)"; fi
  fi ;;
pbs)
  Q=$PBS_BIN
  cat > job.pbs <<JEOF
#!/bin/bash
#PBS -N st_pbs
#PBS -l select=1:ncpus=2:mem=256mb
#PBS -l walltime=00:02:00
#PBS -j oe
#PBS -o $W/pbs.out
echo "ran \$PBS_JOBID in \$PBS_O_WORKDIR name=\$PBS_JOBNAME nodefile=\$(wc -l < \$PBS_NODEFILE)"
JEOF
  jid=$("$Q/qsub" job.pbs 2>&1)
  if [[ "$jid" =~ ^[0-9]+$ ]]; then ok "pbs: qsub #PBS script -> job $jid"; else bad "pbs: qsub: $jid"; fi
  # no task count given: PBS_NODEFILE has one line per allocated CPU (ncpus=2), as in
  # Torque's nodes=1:ppn=2 (PBS Pro would list the node once, mpiprocs defaulting to 1)
  check "pbs: job output with PBS_JOBID, PBS_O_WORKDIR, PBS_JOBNAME, PBS_NODEFILE" \
    until_true file_has "$W/pbs.out" "^ran $jid in $W name=st_pbs nodefile=2$"
  j2=$(echo 'sleep 300' | "$Q/qsub" -l walltime=00:05:00 2>&1)
  pbs_state_is() { "$Q/qstat" "$1" 2>/dev/null | grep -qE "^$1 .* $2 "; }
  check "pbs: script on stdin -> job $j2, qstat -> R" until_true pbs_state_is "$j2" R
  check "pbs: qdel" "$Q/qdel" "$j2"
  check "pbs: qstat after qdel -> C" until_true pbs_state_is "$j2" C
  # two -l options: Torque merges them (the patched wrapper does; stock keeps the last)
  j3=$(cd "$W" && echo 'echo "np=$PBS_NP"' | "$Q/qsub" -l nodes=1:ppn=3 -l walltime=00:01:00 -o "$W/pbs-l.out" 2>&1)
  check "pbs: repeated -l options accumulate (nodes=1:ppn=3 + walltime -> PBS_NP=3)" until_true file_has "$W/pbs-l.out" '^np=3$'
  limit_is_1min() { scontrol show job "$j3" 2>/dev/null | grep -q 'TimeLimit=00:01:00'; }
  check "pbs: ... and walltime=00:01:00 kept" limit_is_1min ;;
sge)
  cat > job.sge <<JEOF
#!/bin/bash
#$ -N st_sge
#$ -cwd
#$ -pe smp 2
#$ -l h_vmem=512M
#$ -l h_rt=00:02:00
#$ -o $W/sge.out
#$ -e $W/sge.err
#$ -V
echo "ran \$JOB_ID slots=\$NSLOTS pe=\$PE name=\$JOB_NAME"
JEOF
  out=$(/usr/bin/qsub job.sge 2>&1); jid=$(sed -n 's/^Your job \([0-9][0-9]*\) (".*") has been submitted.*/\1/p' <<<"$out")
  if [ -n "$jid" ]; then ok "sge: qsub #\$ script -> job $jid"; else bad "sge: qsub: $out"; fi
  check "sge: job output (NSLOTS=2, PE=smp, JOB_NAME)" until_true file_has "$W/sge.out" "^ran $jid slots=2 pe=smp name=st_sge$"
  j2=$(/usr/bin/qsub -terse -b y -o /dev/null -j y sleep 300 2>&1)
  sge_state_is() { [ "$(/usr/bin/qstat | awk -v j="$1" '$1==j{print $5}')" = "$2" ]; }
  sge_gone() { ! /usr/bin/qstat | awk '{print $1}' | grep -qx "$1"; }
  check "sge: qsub -terse -> $j2, qstat -> r" until_true sge_state_is "$j2" r
  check "sge: qdel" eval '/usr/bin/qdel "$j2" >/dev/null'
  check "sge: job gone from qstat after qdel" until_true sge_gone "$j2"
  # (with -b y, SGE joins the arguments with spaces: `bash -c 'exit 3'` would lose its
  # quoting, so the commands below are job scripts on stdin)
  (cd "$W" && echo 'exit 3' | timeout "$TIMEOUT" /usr/bin/qsub -sync y -o /dev/null -j y -N st_exit3 >"$W/sync.out" 2>&1); rc=$?
  if [ "$rc" = 3 ]; then ok "sge: qsub -sync y returns the job's exit code (3)"; else bad "sge: qsub -sync y rc=$rc: $(cat "$W/sync.out")"; fi
  j3=$(sed -n 's/^Your job \([0-9][0-9]*\) .*/\1/p' "$W/sync.out")
  acct_exit3() { /usr/bin/qacct -j "$j3" 2>/dev/null | grep -qE '^exit_status +3 *$'; }
  check "sge: qacct -j $j3 -> exit_status 3" until_true acct_exit3
  out=$(echo 'echo task $SGE_TASK_ID' | /usr/bin/qsub -t 1-3 -N st_sarr -o "$W/sarr.\$TASK_ID.out" -j y 2>&1)
  sarr_done() { for i in 1 2 3; do file_has "$W/sarr.$i.out" "^task $i$" || return 1; done; }
  if [[ "$out" =~ ^Your\ job-array\ [0-9]+\.1-3:1 ]]; then ok "sge: array submit output: $out"; else bad "sge: array submit: $out"; fi
  check "sge: job array 1-3 (\$TASK_ID outputs, SGE_TASK_ID)" until_true sarr_done
  if out=$(/usr/bin/qsub -pe smp 64 -b y -o /dev/null -j y true 2>&1); then
    bad "sge: impossible job (-pe smp 64) was accepted: $out"
  else ok "sge: impossible job (-pe smp 64) rejected at submit (-w e)"; fi
  if [ -n "$mpi_hello" ]; then
    jm=$(/usr/bin/qsub -terse -cwd -V -pe mpi 3 -o "$W/sge-mpi.out" -j y -b y mpirun "$mpi_hello" 2>&1)
    mpi_done() { [ "$(lines_matching "$W/sge-mpi.out" '/3 sum 3$')" = 3 ]; }
    check "sge: mpirun inside -pe mpi 3 (3 ranks, job $jm)" until_true mpi_done
  fi ;;
*) bad "unknown scheduler '$s' (known: slurm pbs sge)" ;;
esac; done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
