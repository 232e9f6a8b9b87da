#!/usr/bin/env bash
# mpi_startup.sh -- how long `mpirun -np 4 tessera mpi` takes to have 3 registered workers,
# against the start-up of an MPI hello world (MPI_Init + MPI_Finalize, compiled with mpicc)
# on the same machine. Prints the median of RUNS runs of each.
#
#   benches/mpi_startup.sh                       # builds target/release/tessera if needed
#   TESSERA=/path/to/tessera RUNS=10 NP=4 benches/mpi_startup.sh
#
# "Ready" is when the scheduler file appears: `tessera mpi` writes it only once every worker
# rank has registered. The run is then shut down with `tessera shutdown`. The hello world is
# "ready" when its rank 0 has passed MPI_Init and a barrier and created its marker file; its
# whole run (to exit) is shown too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-10}
NP=${NP:-4}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
if [ -z "${TESSERA:-}" ]; then
  cargo build --release --bin tessera >&2
  TESSERA=${CARGO_TARGET_DIR:-target}/release/tessera
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/hello.c" <<'C'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int rank, size;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    FILE *marker = fopen(argv[1], "w");
    if (marker) fclose(marker);
    printf("hello from %d ranks\n", size);
  }
  MPI_Finalize();
  return 0;
}
C
mpicc -O2 -o "$work/hello" "$work/hello.c"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

hello_times=()
hello_ready=()
for i in $(seq "$RUNS"); do
  marker="$work/hello$i"
  t0=$(now)
  mpirun -np "$NP" "$work/hello" "$marker" >/dev/null &
  pid=$!
  while [ ! -e "$marker" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.002
  done
  t1=$(now)
  wait "$pid"
  t2=$(now)
  hello_ready+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')")
  hello_times+=("$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.3f", b-a}')")
done

ready_times=()
total_times=()
for i in $(seq "$RUNS"); do
  file="$work/s$i.json"
  t0=$(now)
  mpirun -np "$NP" "$TESSERA" mpi --scheduler-file "$file" >"$work/log$i" 2>&1 &
  pid=$!
  while [ ! -e "$file" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then cat "$work/log$i" >&2; exit 1; fi
    sleep 0.002
  done
  t1=$(now)
  "$TESSERA" shutdown --scheduler-file "$file" >/dev/null 2>&1
  wait "$pid"
  t2=$(now)
  ready_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')")
  total_times+=("$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.3f", b-a}')")
done

h=$(printf '%s\n' "${hello_ready[@]}" | median)
hx=$(printf '%s\n' "${hello_times[@]}" | median)
r=$(printf '%s\n' "${ready_times[@]}" | median)
t=$(printf '%s\n' "${total_times[@]}" | median)
echo "mpirun -np $NP, median of $RUNS runs (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "  MPI hello world, launch to all ranks initialised: ${h} s   (${hello_ready[*]})"
echo "  MPI hello world, launch to exit:                 ${hx} s"
echo "  tessera mpi, launch to $((NP - 1)) registered workers:     ${r} s   (${ready_times[*]})"
echo "  tessera mpi, launch to exit after shutdown:      ${t} s"
awk -v r="$r" -v h="$h" 'BEGIN{printf "  tessera ready minus hello world:                 %+.3f s (target: at most +0.300 s)\n", r-h}'
