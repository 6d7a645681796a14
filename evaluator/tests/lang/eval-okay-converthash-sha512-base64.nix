builtins.convertHash { hash = builtins.hashString "sha512" ""; hashAlgo = "sha512"; toHashFormat = "base64"; }
