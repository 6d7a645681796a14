#!/usr/bin/env bash
# Regenerate the expected standard error of every case here from the reference Nix:
#
#   NAME.err    what `nix-instantiate --eval --strict -E "$(cat NAME.nix)"` writes to standard
#               error (the code is given as an expression, so positions are «string» and no
#               directory's name changes how tabs are expanded)
#
#   NXE_REFERENCE_NIX=/path/to/launcher bash tests/terminal/regen.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cd "$here"
# shellcheck source=../../scripts/reference-nix.sh
source "$here/../../scripts/reference-nix.sh"
for case in *.nix; do
  reference nix-instantiate --eval --strict -E "$(cat "$case")" >/dev/null 2>"${case%.nix}.err" || true
done
