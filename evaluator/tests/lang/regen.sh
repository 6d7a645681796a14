#!/usr/bin/env bash
# Regenerate the expected outputs (.exp / .err.exp) of the evaluator's golden corpus
# from the reference Nix.
#
#   NXE_REFERENCE_NIX=/path/to/launcher bash regen.sh          # every case
#   bash regen.sh eval-okay-arith-int eval-fail-arith-overflow   # only these (nix-instantiate on PATH)
#
# NXE_REFERENCE_NIX: a launcher taking the Nix command name as its first argument
# ("$NXE_REFERENCE_NIX" nix-instantiate --eval ...). Otherwise `nix-instantiate` on PATH.
# NXE_REFERENCE_KEEP: optional space-separated names of extra environment variables to
# pass through to the reference (for a launcher that needs its own settings).
# See README.md for the fixed environment each case runs in.
set -euo pipefail

corpus=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cd "$corpus"

if [[ -n ${NXE_REFERENCE_NIX:-} ]]; then
  ref=("$NXE_REFERENCE_NIX" nix-instantiate)
elif command -v nix-instantiate >/dev/null 2>&1; then
  ref=("$(command -v nix-instantiate)")
else
  echo "regen.sh: no reference Nix: set NXE_REFERENCE_NIX to a launcher (taking the command" >&2
  echo "          name as its first argument) or put nix-instantiate on PATH" >&2
  exit 1
fi

# The fixed environment (keep in sync with README.md).
fixed_env=(
  "PATH=$PATH"
  "HOME=/fake-home"
  "TEST_VAR=foo"
  "NIX_PATH=lang=$corpus/lib"
)
# Variables of the reference's own installation, passed through when set: the state
# directory, any NIX_*_HOME location variable, and the names listed in NXE_REFERENCE_KEEP.
keep=(NIX_STATE_DIR ${NXE_REFERENCE_KEEP:-})
while IFS= read -r name; do keep+=("$name"); done < <(compgen -e | grep -E '^NIX_[A-Z0-9_]*_HOME$' || true)
for name in "${keep[@]}"; do
  [[ -n ${!name+set} ]] && fixed_env+=("$name=${!name}")
done

if (($# > 0)); then
  cases=()
  for c in "$@"; do c=${c%.nix}; cases+=("${c##*/}.nix"); done
else
  cases=()
  for f in eval-okay-*.nix eval-fail-*.nix parse-fail-*.nix; do [[ -e $f ]] && cases+=("$f"); done
fi

sed_corpus=$(printf '%s' "$corpus" | sed 's/[][\.*^$/&]/\\&/g')
strip() { LC_ALL=C grep -a -v "^warning: the group 'nixbld' specified in 'build-users-group' does not exist$" | LC_ALL=C sed "s/$sed_corpus/\\/pwd/g"; }

bad=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${cases[@]}"; do
  base=${f%.nix}
  if [[ ! -f $f ]]; then echo "regen.sh: no such case: $f" >&2; bad=1; continue; fi
  flags=()
  if [[ -f $base.flags ]]; then read -r -a flags < "$base.flags" || true; fi
  set +e
  env -i "${fixed_env[@]}" "${ref[@]}" --eval --strict "${flags[@]}" "$f" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  set -e
  case $base in
    eval-okay-*)
      strip <"$tmp/out" >"$base.exp" || true
      if ((rc != 0)); then
        echo "!!!!!! regen.sh: $f: eval-okay case FAILED (exit $rc):" >&2
        strip <"$tmp/err" | sed 's/^/    /' >&2 || true
        bad=1
      fi ;;
    eval-fail-*|parse-fail-*)
      strip <"$tmp/err" >"$base.err.exp" || true
      if ((rc == 0)); then
        echo "!!!!!! regen.sh: $f: failure case SUCCEEDED (exit 0), output: $(head -c 300 "$tmp/out")" >&2
        bad=1
      fi ;;
  esac
done
if ((bad)); then echo "regen.sh: FAILED: see the messages above" >&2; exit 1; fi
echo "regen.sh: regenerated ${#cases[@]} case(s)"
