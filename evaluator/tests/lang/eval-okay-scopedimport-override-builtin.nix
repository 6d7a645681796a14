scopedImport { x = "a"; y = "b"; } ./lib/scoped.nix
