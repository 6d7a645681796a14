(import ./simple.nix).x + (import ./nested/inner.nix)
