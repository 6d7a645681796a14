builtins.flakeRefToString (builtins.parseFlakeRef "github:owner/repo/rev-branch")
