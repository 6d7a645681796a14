builtins.tryEval (import <nix/no-such-file.nix>)
