let d = derivation { name = "multi"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" "doc" ]; }; in builtins.getContext "${d.dev} ${d.out} ${d.doc}"
