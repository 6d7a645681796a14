(args@{ a, b ? builtins.attrNames args }: b) { a = 1; }
