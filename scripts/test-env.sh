# shellcheck shell=bash
# test-env.sh -- environment for the test suite; source it: `. scripts/test-env.sh`.
# scripts/test.sh sources it; source it yourself to run single tests the same way, e.g.
#   . scripts/test-env.sh && cargo nextest run --test batch_slurm
# It exports nothing else and starts nothing: scripts/install.sh --with-batch starts the
# batch systems, --with-python makes the venv. See tests/README.md.

# OpenMPI as root inside containers: allow root, allow more ranks than cores, and no CMA
# single-copy (ptrace is restricted in containers: "Read -1, expected ..., errno = 1")
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none

_tessera_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)

# rustup's cargo when the shell did not put it on PATH
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# Batch systems that are up (started by scripts/batch/*-up.sh), as a space-separated list
# of "slurm", "pbs" (PBS syntax via Slurm) and "sge". Tests that need one read this list.
_tessera_alive() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && [ -d "/proc/$p" ]; }
TESSERA_TEST_BATCH=
if _tessera_alive /run/slurm/slurmctld.pid && _tessera_alive /run/slurm/slurmd.pid; then
  TESSERA_TEST_BATCH="slurm"
  [ -x /opt/pbs-via-slurm/bin/qsub ] && TESSERA_TEST_BATCH="$TESSERA_TEST_BATCH pbs"
fi
if _tessera_alive /var/spool/gridengine/qmaster/qmaster.pid; then
  TESSERA_TEST_BATCH="${TESSERA_TEST_BATCH:+$TESSERA_TEST_BATCH }sge"
fi
export TESSERA_TEST_BATCH
# The multi-host test bed (scripts/testbed.sh up; install.sh --with-testbed): 1 when it is up
TESSERA_TEST_TESTBED=0
if [ -f /run/tessera-testbed/up ] && "$_tessera_root/scripts/testbed.sh" status >/dev/null 2>&1; then
  TESSERA_TEST_TESTBED=1
fi
export TESSERA_TEST_TESTBED
# PBS commands (qsub, qstat, qdel, ...) live here, not on PATH: /usr/bin/qsub is Grid Engine's
export TESSERA_TEST_PBS_BIN=/opt/pbs-via-slurm/bin
# Python with h5py, netCDF4, xarray, numpy for third-party reader tests (install.sh --with-python)
if [ -x "$_tessera_root/.venv-test/bin/python" ]; then
  export TESSERA_TEST_PYTHON="$_tessera_root/.venv-test/bin/python"
fi
unset -f _tessera_alive
unset _tessera_root
