#!/usr/bin/env bash
# Builds nxe in release mode, times every workload against the reference Nix with
# `nxe bench --runs 5`, and writes the report to benches/results/<date>-<hostname>.md with
# the commit, the machine and the reference's version. Run from anywhere in the repository;
# extra arguments go to `nxe bench` (e.g. `benches/run.sh sort fib`). With `--pgo` first, the
# binary timed is the profile-guided build of scripts/pgo-build.sh.
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
build="cargo build --release"
if [ "${1:-}" = "--pgo" ]; then
  shift
  scripts/pgo-build.sh
  nxe=target/pgo/release/nxe
  build="scripts/pgo-build.sh (profile-guided)"
else
  cargo build --release -p nxe
  target=${CARGO_TARGET_DIR:-target}
  nxe=$target/release/nxe
fi

if [ -n "${NXE_REFERENCE_NIX:-}" ]; then
  reference_version=$("$NXE_REFERENCE_NIX" nix-instantiate --version 2>/dev/null | head -n1 || true)
else
  reference_version=$(nix-instantiate --version 2>/dev/null | head -n1 || true)
fi
commit=$(git rev-parse HEAD)
if ! git diff --quiet HEAD; then commit="$commit (with uncommitted changes)"; fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
mkdir -p benches/results
out=benches/results/$(date +%Y-%m-%d)-$(hostname -s).md

# A mismatch or a failed workload makes `nxe bench` exit 1; the report is written anyway.
status=0
report=$("$nxe" bench --runs 5 "$@") || status=$?
{
  echo "# nxe bench, $(date +%Y-%m-%d) on $(hostname -s)"
  echo
  echo "- commit: $commit"
  echo "- machine: $(uname -m), ${cpu:-unknown CPU}, $(nproc) cores"
  echo "- build: $build"
  echo "- reference: ${reference_version:-none}"
  echo "- command: nxe bench --runs 5 $*"
  echo
  echo '```text'
  echo "$report"
  echo '```'
} >"$out"
cat "$out"
echo "written to $out" >&2
exit "$status"
