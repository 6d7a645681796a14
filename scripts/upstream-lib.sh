#!/usr/bin/env bash
# Run nixpkgs' lib test suite (from a checkout kept outside this repository) with nxe as
# the evaluator, and report the results.
#
#   scripts/upstream-lib.sh PATH/TO/nixpkgs-checkout [PATH/TO/nxe]
#
# lib/tests/misc.nix must evaluate to [ ]; lib/tests/modules.sh runs with a
# `nix-instantiate` shim on PATH that calls `nxe eval` with the same flags. Nothing of the
# suite is copied into this repository.
set -euo pipefail
checkout=$(cd "$1" && pwd)
nxe=$(realpath "${2:-$(dirname "$0")/../target/release/nxe}")
lib=$checkout/lib
[[ -d $lib/tests ]] || { echo "no lib/tests under $checkout" >&2; exit 2; }

echo "== lib/tests/misc.nix"
misc=$(cd "$checkout" && "$nxe" eval --strict lib/tests/misc.nix 2>/dev/null) || true
if [[ $misc == "[ ]" ]]; then echo "misc.nix: [ ] (pass)"; else echo "misc.nix: FAIL: ${misc:0:2000}"; fi

echo "== lib/tests/modules.sh"
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
cat >"$shim/nix-instantiate" <<SHIM
#!/usr/bin/env bash
# Translates nix-instantiate's evaluation flags for nxe eval.
args=()
while (( \$# )); do
  case \$1 in
    --eval|--eval-only|--read-write-mode) ;;
    --timeout) shift ;;
    *) args+=("\$1") ;;
  esac
  shift
done
exec "$nxe" eval "\${args[@]}"
SHIM
chmod +x "$shim/nix-instantiate"
PATH="$shim:$PATH" bash "$lib/tests/modules.sh" 2>&1 | tail -n "${TAIL:-15}"
