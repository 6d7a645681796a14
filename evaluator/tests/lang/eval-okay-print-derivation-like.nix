{ type = "derivation"; name = "fake"; outPath = "/nix/store/fake"; }
