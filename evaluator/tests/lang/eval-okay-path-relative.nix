[ ./foo ./foo/bar.nix ./. ./lib/../dir ]
