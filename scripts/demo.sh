#!/usr/bin/env bash
# demo.sh -- install what is needed (scripts/install.sh) and run `tessera demo` from a
# release build. Extra arguments go to `tessera demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install.sh
. scripts/test-env.sh   # OpenMPI-as-root variables, cargo on PATH
exec cargo run --release -- demo "$@"
