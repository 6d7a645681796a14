#!/usr/bin/env bash
# Builds a release nxe with profile-guided optimisation (PGO).
#
#   scripts/pgo-build.sh            # the binary ends up in target/pgo/release/nxe
#
# An instrumented build first evaluates the example fleet (hosts, derivations, checks,
# tests) and the evaluator's golden cases; the profile those runs leave then guides the
# final build, which lays the interpreter's hot paths out together and keeps its cold ones
# apart. The benchmark workloads (`benches/workloads/`) are not part of the training, so
# `nxe bench` measures code the profile never saw.
#
# Needs `llvm-profdata` from an LLVM that reads the raw profiles of rustc's LLVM: rustup's
# llvm-tools component, or a distribution's llvm-profdata (Debian 12: apt-get install
# llvm-19). LLVM_PROFDATA=PATH names one explicitly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Every llvm-profdata at hand, the newest LLVM first: rustc's LLVM is usually newer than a
# distribution's default, whose tools cannot read its raw profiles.
profdata_candidates() {
  if [[ -n ${LLVM_PROFDATA:-} ]]; then
    echo "$LLVM_PROFDATA"
    return
  fi
  local sysroot candidate
  sysroot=$(rustc --print sysroot)
  for candidate in "$sysroot"/lib/rustlib/*/bin/llvm-profdata; do
    [[ -x $candidate ]] && echo "$candidate"
  done
  ls -d /usr/lib/llvm-*/bin/llvm-profdata 2>/dev/null | sort -V -r || true
  compgen -c llvm-profdata- | sort -t- -k3 -n -r | xargs -r -n1 sh -c 'command -v "$0"' || true
  command -v llvm-profdata || true
}

mapfile -t candidates < <(profdata_candidates | awk '!seen[$0]++')
if ((${#candidates[@]} == 0)); then
  echo "pgo-build: no llvm-profdata found; install rustup's llvm-tools or a distribution's LLVM, or set LLVM_PROFDATA" >&2
  exit 1
fi

work=target/pgo
rm -rf "$work/profiles"
mkdir -p "$work/profiles"

echo "pgo-build: instrumented build" >&2
RUSTFLAGS="-Cprofile-generate=$PWD/$work/profiles" \
  cargo build --release -p nxe --target-dir "$work/instrumented"
nxe=$work/instrumented/release/nxe

echo "pgo-build: training on the example fleet and the golden cases" >&2
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
"$nxe" hosts --repo fixtures/fleet >/dev/null 2>&1
"$nxe" hosts --repo fixtures/fleet -j1 >/dev/null 2>&1
"$nxe" instantiate fixtures/fleet -A toplevels -A checks >/dev/null 2>&1
"$nxe" graph --repo fixtures/fleet --stats >/dev/null 2>&1
"$nxe" test --repo fixtures/fleet --cache "$cache" --builder none >/dev/null 2>&1 || true
"$nxe" test --repo fixtures/fleet --cache "$cache" --builder none --changed >/dev/null 2>&1 || true
# The golden cases: every evaluation that succeeds or fails in the reference, so the
# profile covers the builtins and the error paths too, each case run as the corpus runs it.
for case in evaluator/tests/lang/eval-okay-*.nix evaluator/tests/lang/eval-fail-*.nix; do
  (cd evaluator/tests/lang && "../../../$nxe" eval --strict "$(basename "$case")" >/dev/null 2>&1) || true
done

merged=
for profdata in "${candidates[@]}"; do
  if "$profdata" merge -o "$work/merged.profdata" "$work/profiles" 2>/dev/null; then
    merged=$profdata
    break
  fi
done
if [[ -z $merged ]]; then
  echo "pgo-build: none of ${candidates[*]} reads rustc's profiles; install a more recent LLVM (rustc -vV names rustc's), or rustup's llvm-tools" >&2
  exit 1
fi
echo "pgo-build: profiles merged by $merged" >&2

echo "pgo-build: optimised build" >&2
RUSTFLAGS="-Cprofile-use=$PWD/$work/merged.profdata" \
  cargo build --release -p nxe --target-dir "$work"
echo "pgo-build: $work/release/nxe" >&2
