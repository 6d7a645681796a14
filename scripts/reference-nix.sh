# Sourced by the fixtures' regeneration scripts: `reference CMD ARGS...` runs the reference
# Nix's CMD (nix-instantiate, nix, ...) through the launcher named by NXE_REFERENCE_NIX (which
# takes the command name as its first argument), or CMD from PATH. Sourcing fails when there
# is neither.

if [[ -z ${NXE_REFERENCE_NIX:-} ]] && ! command -v nix-instantiate >/dev/null 2>&1; then
  echo "${0##*/}: no reference Nix: set NXE_REFERENCE_NIX to a launcher (taking the command" >&2
  echo "          name as its first argument) or put nix-instantiate on PATH" >&2
  exit 1
fi

reference() {
  if [[ -n ${NXE_REFERENCE_NIX:-} ]]; then
    "$NXE_REFERENCE_NIX" "$@"
  else
    "$@"
  fi
}
