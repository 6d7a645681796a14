scopedImport { scopedVar = "from scope"; } ./lib/uses-scoped-var.nix
