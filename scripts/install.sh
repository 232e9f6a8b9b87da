#!/usr/bin/env bash
# install.sh -- install what Tessera needs to build, run and test, on Debian 12 (bookworm).
#
# Usage: scripts/install.sh [--with-tests] [--with-batch] [--with-testbed] [--with-python] [--with-dask]
#   (no flag)      system libraries (MPI, HDF5, NetCDF, libclang, pkg-config) and Rust >= 1.95
#   --with-tests   also rustfmt, clippy, cargo-nextest, and chromium + tmux (dashboard tests)
#   --with-batch   also start one-node Slurm, PBS-syntax-via-Slurm and Grid Engine for the
#                  batch-system tests (scripts/batch/all.sh up; needs root)
#   --with-testbed also the multi-host test bed: hosts login, node1, node2 as network
#                  namespaces (scripts/testbed.sh up; needs root, iproute2, util-linux)
#   --with-python  also a venv .venv-test with h5py, netCDF4, xarray, numpy, dask-jobqueue (third-party
#                  reader tests: files Tessera writes must open there, and the other way round)
#   --with-dask    also dask[array,distributed], dask-mpi, mpi4py, dask-jobqueue in that venv
#                  (peer benchmarks; implies --with-python)
#
# Idempotent: what is installed already is skipped, so a re-run is a fast no-op (a few
# dpkg-query calls). Prints one line per step. Runs as root; as another user it uses sudo
# for the apt and batch-system steps when sudo exists, and explains otherwise.
# Exports nothing: the test environment (OpenMPI-as-root variables and the like) is in
# scripts/test-env.sh, which scripts/test.sh sources.
# Exit codes: 0 done, 1 a step failed, 2 unsupported system without apt / bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MIN_RUST=1.95
APT_PACKAGES=(pkg-config libclang-dev libffi-dev libopenmpi-dev openmpi-bin libhdf5-dev
  libnetcdf-dev libdeflate-dev hdf5-tools netcdf-bin ca-certificates curl)
PY_PACKAGES=(h5py netCDF4 xarray numpy dask-jobqueue)
PY_MODULES="h5py, netCDF4, xarray, numpy, dask_jobqueue"
DASK_PACKAGES=("dask[array,distributed]" dask-mpi mpi4py dask-jobqueue)
DASK_MODULES="dask.array, distributed, dask_mpi, mpi4py, dask_jobqueue"
VENV=$ROOT/.venv-test

with_tests=0 with_batch=0 with_testbed=0 with_python=0 with_dask=0
for a in "$@"; do
  case "$a" in
    --with-tests) with_tests=1 ;;
    --with-batch) with_batch=1 ;;
    --with-testbed) with_testbed=1 ;;
    --with-python) with_python=1 ;;
    --with-dask) with_dask=1; with_python=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$a' (see --help)" >&2; exit 2 ;;
  esac
done

t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1fs", b-a}'; }
step() { echo "[install] $*"; }
fail() { echo "[install] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- system check
OS_RELEASE=${TESSERA_OS_RELEASE:-/etc/os-release}   # override only to test this check
os_id='' os_version='' os_name=unknown
# shellcheck disable=SC1090  # a variable path, read in subshells
if [ -r "$OS_RELEASE" ]; then
  os_id=$(. "$OS_RELEASE" && echo "${ID:-}")
  os_version=$(. "$OS_RELEASE" && echo "${VERSION_ID:-}")
  os_name=$(. "$OS_RELEASE" && echo "${PRETTY_NAME:-$ID}")
fi
if [ "$os_id" = debian ] && [ "$os_version" = 12 ]; then
  step "system: $os_name (supported)"
else
  cat >&2 <<EOF
[install] UNSUPPORTED SYSTEM: $os_name. This installer is written and tested for Debian 12 (bookworm).
[install] On a supported system it would install:
[install]   Debian packages: ${APT_PACKAGES[*]}
[install]   Rust >= $MIN_RUST (rustup), and with --with-tests rustfmt, clippy, cargo-nextest
[install]   with --with-python: a venv .venv-test with ${PY_PACKAGES[*]}
[install]   with --with-batch: Slurm 22.05, Son of Grid Engine 8.1.9 and Slurm's PBS wrappers (Debian packages)
EOF
  if command -v apt-get >/dev/null; then
    echo "[install] apt-get exists: trying anyway; package names may differ on this system." >&2
  else
    cat >&2 <<EOF
[install] No apt-get here. Install the equivalents by hand: an MPI implementation with its
[install] development files (OpenMPI), HDF5, NetCDF-C and libdeflate libraries with headers and tools,
[install] libclang, libffi, pkg-config, curl; then Rust >= $MIN_RUST from https://rustup.rs and
[install] 'cargo install cargo-nextest --locked'. Then build with 'cargo build --release'.
EOF
    exit 2
  fi
fi

# ---------------------------------------------------------------- root or sudo
SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=(sudo); fi
fi
as_root() { # run "$@" as root, through sudo when needed
  if [ "$(id -u)" = 0 ]; then "$@"
  elif [ ${#SUDO[@]} -gt 0 ]; then "${SUDO[@]}" "$@"
  else fail "this step needs root: '$*'. Run scripts/install.sh as root, or install sudo."; fi
}

# ---------------------------------------------------------------- Debian packages
t=$(date +%s.%N)
missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null | awk '/ install ok installed$/{print $1}' || true)
for p in "${APT_PACKAGES[@]}"; do grep -qx -- "$p" <<<"$installed" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  step "Debian packages: all ${#APT_PACKAGES[@]} installed ($(elapsed "$t"))"
else
  step "Debian packages: installing ${missing[*]}"
  APT_ENSURE_TAG=install as_root "$ROOT/scripts/apt-ensure.sh" "${missing[@]}" \
    || fail "apt-get install failed for: ${missing[*]}"
  step "Debian packages: installed ($(elapsed "$t"))"
fi

# ---------------------------------------------------------------- Rust
t=$(date +%s.%N)
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
if ! command -v cargo >/dev/null && [ -x "$CARGO_BIN/cargo" ]; then export PATH="$CARGO_BIN:$PATH"; fi
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
rust_version() { rustc --version 2>/dev/null | awk '{print $2}'; }
if ! command -v cargo >/dev/null || ! command -v rustc >/dev/null; then
  if command -v rustup >/dev/null; then
    step "Rust: no toolchain; rustup toolchain install stable"
    if ! { rustup toolchain install stable --profile minimal && rustup default stable; }; then
      fail "rustup could not install a toolchain (is static.rust-lang.org reachable?). Install Rust >= $MIN_RUST by hand."
    fi
  else
    step "Rust: no toolchain; installing rustup from https://sh.rustup.rs"
    if ! curl --proto '=https' --tlsv1.2 -sSf --max-time 60 https://sh.rustup.rs -o /tmp/rustup-init.sh; then
      fail "cannot download https://sh.rustup.rs (this machine may reach only package registries).
[install] Install Rust >= $MIN_RUST another way (a rustup-init binary, or your site's module system),
[install] put cargo on PATH, and re-run. Debian's own rustc (1.63) is too old."
    fi
    sh /tmp/rustup-init.sh -y --profile minimal --default-toolchain stable \
      || fail "rustup-init failed (it downloads the toolchain from static.rust-lang.org)"
    export PATH="$CARGO_BIN:$PATH"
  fi
fi
v=$(rust_version)
if ! version_ge "$v" "$MIN_RUST"; then
  if command -v rustup >/dev/null; then
    step "Rust: rustc $v < $MIN_RUST; rustup update stable"
    if ! { rustup update stable && rustup default stable; }; then
      fail "rustup update failed (is static.rust-lang.org reachable?); install Rust >= $MIN_RUST by hand"
    fi
    v=$(rust_version)
    version_ge "$v" "$MIN_RUST" || fail "rustc is still $v after rustup update; need >= $MIN_RUST"
  else
    fail "rustc $v is older than $MIN_RUST and there is no rustup to update it ($(command -v rustc))"
  fi
fi
step "Rust: rustc $v ($(command -v cargo)) ($(elapsed "$t"))"

if [ "$with_tests" = 1 ]; then
  t=$(date +%s.%N)
  # headless Chromium for the dashboard and report tests, tmux for `tessera top`'s
  APT_ENSURE_TAG=install as_root "$ROOT/scripts/apt-ensure.sh" chromium tmux \
    || fail "could not install chromium and tmux (the dashboard tests need them)"
  step "test tools: chromium, tmux ($(elapsed "$t"))"
  t=$(date +%s.%N)
  comps=()
  cargo fmt --version >/dev/null 2>&1 || comps+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || comps+=(clippy)
  if [ ${#comps[@]} -gt 0 ]; then
    command -v rustup >/dev/null || fail "missing ${comps[*]} and no rustup to add them"
    step "Rust: adding components ${comps[*]}"
    rustup component add "${comps[@]}" || fail "rustup component add ${comps[*]} failed"
  fi
  if cargo nextest --version >/dev/null 2>&1; then
    step "cargo-nextest: $(cargo nextest --version 2>/dev/null | head -1 | awk '{print $2}') ($(elapsed "$t"))"
  else
    step "cargo-nextest: cargo install cargo-nextest --locked (builds from crates.io, a few minutes)"
    cargo install cargo-nextest --locked || fail "cargo install cargo-nextest failed"
    step "cargo-nextest: installed ($(elapsed "$t"))"
  fi
fi

# ---------------------------------------------------------------- Python venv
if [ "$with_python" = 1 ]; then
  t=$(date +%s.%N)
  modules=$PY_MODULES; pkgs=("${PY_PACKAGES[@]}")
  if [ "$with_dask" = 1 ]; then modules="$modules, $DASK_MODULES"; pkgs+=("${DASK_PACKAGES[@]}"); fi
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import $modules" >/dev/null 2>&1; then
    step "Python: $VENV has ${pkgs[*]} ($(elapsed "$t"))"
  else
    if [ ! -x "$VENV/bin/python" ]; then
      py=$(command -v python3 || true)
      [ -n "$py" ] || { APT_ENSURE_TAG=install as_root "$ROOT/scripts/apt-ensure.sh" python3 python3-venv; py=/usr/bin/python3; }
      if ! "$py" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's python3 needs python3-venv for ensurepip
        APT_ENSURE_TAG=install as_root "$ROOT/scripts/apt-ensure.sh" python3-venv
        rm -rf "$VENV"; /usr/bin/python3 -m venv "$VENV" || fail "python3 -m venv $VENV failed"
      fi
      step "Python: created venv $VENV ($("$VENV/bin/python" --version 2>&1))"
    fi
    step "Python: pip install ${pkgs[*]}"
    # mpi4py (with --with-dask) builds against the system OpenMPI (libopenmpi-dev, mpicc)
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${pkgs[@]}" \
      || fail "pip install ${pkgs[*]} into $VENV failed"
    "$VENV/bin/python" -c "import $modules" || fail "installed, but 'import $modules' fails in $VENV"
    step "Python: $VENV ready ($(elapsed "$t"))"
  fi
fi

# ---------------------------------------------------------------- batch systems
if [ "$with_batch" = 1 ]; then
  t=$(date +%s.%N)
  step "batch systems: Slurm (MpiDefault=pmix), PBS syntax via Slurm, Grid Engine"
  as_root env SLURM_MPI="${SLURM_MPI:-1}" "$ROOT/scripts/batch/all.sh" up \
    || fail "batch-system setup failed (logs: /var/log/slurm/, /var/spool/gridengine/qmaster/messages)"
  step "batch systems: up ($(elapsed "$t")); stop them with: scripts/batch/all.sh stop"
fi

# ---------------------------------------------------------------- multi-host test bed
if [ "$with_testbed" = 1 ]; then
  t=$(date +%s.%N)
  step "test bed: hosts login, node1, node2 as network namespaces"
  APT_ENSURE_TAG=install as_root "$ROOT/scripts/apt-ensure.sh" iproute2 util-linux munge slurmctld slurmd slurm-client \
    || fail "cannot install iproute2, util-linux, munge and Slurm for the test bed"
  as_root "$ROOT/scripts/testbed.sh" up || fail "test bed setup failed"
  step "test bed: up ($(elapsed "$t")); remove it with: scripts/testbed.sh down"
fi

step "done in $(elapsed "$t_start")"
