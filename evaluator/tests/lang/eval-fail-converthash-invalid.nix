builtins.convertHash { hash = "not-a-hash"; hashAlgo = "sha256"; toHashFormat = "base16"; }
