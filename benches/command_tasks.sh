#!/usr/bin/env bash
# benches/command_tasks.sh -- command tasks (issue 13) against xargs -P and GNU parallel, and the
# scheduler's cost of a large task array.
#
#   1. N (10,000) `/bin/true` runs on 2 slots: `xargs -P 2`, GNU `parallel -j 2`, and
#      `tessera submit --array 1-N --wait` on a `tessera local` cluster of 2 workers x 1 CPU
#      (started once, outside the timing); the three alternate in each of REPEAT rounds.
#      Tessera runs twice per round: with its default per-task output files
#      (tessera-jobs/JOB/TASK.stdout|stderr) and with --stdout/--stderr /dev/null.
#   2. A BIG (100,000) task array submitted to a scheduler with no worker: the time until
#      `tessera submit` returns, and the scheduler's RSS before and after (per task = the
#      difference / BIG); without and with `--journal`, alternating.
# Prints medians of REPEAT (3) rounds. Release binary: TESSERA, default target/release/tessera
# (built with `cargo build --release --bin tessera` when missing).
#
# Usage: benches/command_tasks.sh            (env: N, BIG, REPEAT, TESSERA)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-10000}
BIG=${BIG:-100000}
REPEAT=${REPEAT:-3}
TESSERA=${TESSERA:-${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera}

# GNU parallel is the peer; install it the project's way (no-op when present).
APT_ENSURE_TAG=bench "$ROOT/scripts/apt-ensure.sh" parallel
if [ ! -x "$TESSERA" ]; then
  (cd "$ROOT" && cargo build --release --bin tessera)
fi

work=$(mktemp -d /tmp/tessera-cmdbench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Wait until FILE contains PATTERN (at most 30 s).
wait_for() {
  for _ in $(seq 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: timed out waiting for '$2' in $1" >&2
  cat "$1" >&2
  exit 1
}

# ---- 1. N /bin/true on two slots ------------------------------------------------------------
"$TESSERA" local --workers 2 --nthreads 1 --scheduler-file "$work/s.json" > "$work/local.log" 2>&1 &
pids+=($!)
wait_for "$work/local.log" "cluster ready"
mkdir -p "$work/out"

declare -A runs
for r in $(seq "$REPEAT"); do
  t0=$(now); seq "$N" | xargs -P 2 -n 1 /bin/true; t1=$(now)
  runs[xargs]+=" $(elapsed "$t0" "$t1")"
  t0=$(now); seq "$N" | parallel -j 2 /bin/true; t1=$(now)
  runs[parallel]+=" $(elapsed "$t0" "$t1")"
  t0=$(now)
  "$TESSERA" submit --scheduler-file "$work/s.json" --cwd "$work/out" --array "1-$N" --wait -- /bin/true 2>/dev/null >/dev/null
  t1=$(now)
  runs[tessera]+=" $(elapsed "$t0" "$t1")"
  t0=$(now)
  "$TESSERA" submit --scheduler-file "$work/s.json" --cwd "$work/out" --stdout /dev/null --stderr /dev/null \
    --array "1-$N" --wait -- /bin/true 2>/dev/null >/dev/null
  t1=$(now)
  runs[tessera_null]+=" $(elapsed "$t0" "$t1")"
  rm -rf "$work/out/tessera-jobs"
  echo "round $r: xargs ${runs[xargs]##* } s, parallel ${runs[parallel]##* } s, tessera ${runs[tessera]##* } s, tessera (/dev/null) ${runs[tessera_null]##* } s" >&2
done
"$TESSERA" shutdown --scheduler-file "$work/s.json" >/dev/null 2>&1 || true

echo "== $N x /bin/true on 2 slots (median of $REPEAT; tasks/s) =="
x=$(echo "${runs[xargs]}" | median)
for tool in xargs parallel tessera tessera_null; do
  m=$(echo "${runs[$tool]}" | median)
  awk -v t="$tool" -v m="$m" -v n="$N" -v x="$x" -v all="${runs[$tool]}" \
    'BEGIN { printf "%-13s %7.3f s  %8.0f tasks/s  %5.1f %% of xargs   (runs:%s)\n", t, m, n / m, 100 * x / m, all }'
done

# ---- 2. a BIG-task array: submission time, scheduler memory, journal -------------------------
declare -A sub mem
for r in $(seq "$REPEAT"); do
  for mode in plain journal; do
    sf="$work/big-$mode-$r.json"
    extra=()
    [ "$mode" = journal ] && extra=(--journal "$work/big-$r.journal")
    "$TESSERA" scheduler --scheduler-file "$sf" "${extra[@]}" > "$work/sched.log" 2>&1 &
    sp=$!
    pids+=($sp)
    for _ in $(seq 300); do [ -s "$sf" ] && break; sleep 0.1; done
    # one small job first, so that the connection and job machinery are warm in both
    "$TESSERA" submit --scheduler-file "$sf" --cwd "$work/out" -- /bin/true >/dev/null
    sleep 0.5
    before=$(rss_kib "$sp")
    t0=$(now)
    "$TESSERA" submit --scheduler-file "$sf" --cwd "$work/out" --array "1-$BIG" -- /bin/true >/dev/null
    t1=$(now)
    sleep 1
    after=$(rss_kib "$sp")
    sub[$mode]+=" $(elapsed "$t0" "$t1")"
    mem[$mode]+=" $(awk -v a="$before" -v b="$after" -v n="$BIG" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
    echo "round $r $mode: submit $(elapsed "$t0" "$t1") s, scheduler RSS $before -> $after KiB" >&2
    "$TESSERA" shutdown --scheduler-file "$sf" >/dev/null 2>&1 || kill "$sp"
    wait "$sp" 2>/dev/null || true
  done
done
echo "== $BIG-task array submitted to a scheduler without workers (median of $REPEAT) =="
for mode in plain journal; do
  printf '%-8s submit returns after %s s, scheduler memory %s bytes/task   (runs:%s |%s)\n' \
    "$mode" "$(echo "${sub[$mode]}" | median)" "$(echo "${mem[$mode]}" | median)" "${sub[$mode]}" "${mem[$mode]}"
done
