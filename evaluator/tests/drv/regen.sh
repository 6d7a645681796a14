#!/usr/bin/env bash
# Regenerates the expected derivations of the parity corpus (drv-*.nix -> drv-*.drvs.exp)
# with the reference Nix.
#
# The reference is found through $NXE_REFERENCE_NIX, a launcher that takes the command name
# first ("$NXE_REFERENCE_NIX nix-instantiate FILE"); without it, nix-instantiate and
# nix-store on PATH are used. Instantiating writes the .drv files into the reference's store,
# where this script reads them back.
#
# Each .drvs.exp lists every derivation reachable from the case's result (the top-level
# derivations and, recursively, every .drv among their inputs), sorted by path: a line with the .drv path,
# then a line with its ATerm text.
#
#   bash regen.sh                 # every case
#   bash regen.sh drv-basic-1.nix # some cases
set -euo pipefail
cd "$(dirname "$0")"

ref() {
  if [[ -n ${NXE_REFERENCE_NIX:-} ]]; then
    "$NXE_REFERENCE_NIX" "$@"
  else
    "$@"
  fi
}

if [[ $# -gt 0 ]]; then cases=("$@"); else cases=(drv-*.nix); fi
failed=0
for case in "${cases[@]}"; do
  exp=${case%.nix}.drvs.exp
  if ! top=$(ref nix-instantiate "$case" 2>/tmp/regen-err.$$); then
    echo "FAILED: $case" >&2
    grep -v "^warning: the group\|--add-root" /tmp/regen-err.$$ >&2 || true
    failed=$((failed + 1))
    continue
  fi
  # nix-instantiate prints one .drv path per derivation, with "!output" when the value is
  # not the first output.
  mapfile -t tops < <(printf '%s\n' "$top" | sed 's/!.*$//' | grep -v '^$')
  mapfile -t drvs < <(ref nix-store -qR "${tops[@]}" 2>/dev/null | grep '\.drv$' | sort -u)
  tmp=$exp.tmp.$$
  : >"$tmp"
  for drv in "${drvs[@]}"; do
    printf '%s\n%s\n' "$drv" "$(cat "$drv")" >>"$tmp"
  done
  mv "$tmp" "$exp"
done
rm -f /tmp/regen-err.$$
echo "regenerated $((${#cases[@]} - failed)) of ${#cases[@]} cases; $failed failed" >&2
