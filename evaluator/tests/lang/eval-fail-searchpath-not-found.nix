<nosuchprefix/x.nix>
