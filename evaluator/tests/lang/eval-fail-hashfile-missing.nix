builtins.hashFile "sha256" ./lib/does-not-exist
