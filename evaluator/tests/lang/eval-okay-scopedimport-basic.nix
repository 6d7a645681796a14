scopedImport { x = 1; y = 2; } ./lib/scoped.nix
