#!/usr/bin/env bash
# all.sh [up|stop|status] -- the three test batch systems together, in the order that works:
# Slurm (slurm-up.sh), PBS syntax via Slurm (pbs-via-slurm-up.sh), Grid Engine (sge-up.sh).
# `up` prints how long each took. Needs root for up/stop. Pass SLURM_*/SGE_*/PBS_* variables
# through the environment (see each script's header).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ACTION=${1:-up}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1fs", b-a}'; }
case "$ACTION" in
  up)
    for s in slurm-up.sh pbs-via-slurm-up.sh sge-up.sh; do
      t=$(date +%s.%N)
      "$HERE/$s" up
      echo "[batch] $s up: $(elapsed "$t")" >&2
    done ;;
  stop)   "$HERE/sge-up.sh" stop; "$HERE/slurm-up.sh" stop ;;
  status) "$HERE/pbs-via-slurm-up.sh" status; "$HERE/sge-up.sh" status ;;
  *) echo "usage: $0 [up|stop|status]" >&2; exit 2 ;;
esac
