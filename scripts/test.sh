#!/usr/bin/env bash
# test.sh -- the whole test suite, as CI runs it (.ci/run ends with `exec scripts/test.sh`).
#
#  1. scripts/install.sh --with-tests --with-batch --with-testbed --with-python   (idempotent)
#  2. source scripts/test-env.sh  (OpenMPI-as-root variables, TESSERA_TEST_* variables)
#  3. scripts/batch/scheduler-selftest.sh   (the batch systems behave as the tests expect)
#  4. cargo fmt --check
#  5. cargo clippy --all-targets -- -D warnings
#  6. cargo test --doc
#  7. cargo nextest run --all-targets --no-fail-fast   (.config/nextest.toml; profile "ci" under CI)
# The doc tests run before nextest so that nextest's summary is the run's closing line.
# Stops at the first failing step (nextest itself runs every test). The batch daemons stay
# up afterwards for quick re-runs; stop them with `scripts/batch/all.sh stop`.
# Set TESSERA_TEST_SKIP_INSTALL=1 to skip step 1 (environment already prepared).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1fs", b-a}'; }
run() { # print the command, run it, print its time
  local t; t=$(date +%s.%N)
  echo "[test] \$ $*"
  "$@"
  echo "[test] ok ($(elapsed "$t")): $*"
}

if [ "${TESSERA_TEST_SKIP_INSTALL:-0}" != 1 ]; then
  run scripts/install.sh --with-tests --with-batch --with-testbed --with-python
fi
# shellcheck source=scripts/test-env.sh
. scripts/test-env.sh
# tests whose facility (batch system, MPI, Python readers) is missing fail instead of
# reporting that they could not run (see tests/README.md)
export TESSERA_TEST_STRICT=1
echo "[test] batch systems up: ${TESSERA_TEST_BATCH:-none}; test bed up: ${TESSERA_TEST_TESTBED}; python: ${TESSERA_TEST_PYTHON:-none}"

run scripts/batch/scheduler-selftest.sh
run cargo fmt --check
run cargo clippy --all-targets -- -D warnings
run cargo test --doc
profile=default
[ -n "${CI:-}" ] && profile=ci
run cargo nextest run --all-targets --no-fail-fast --profile "$profile"
