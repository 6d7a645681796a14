let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx12"; v = let s = "${(mk { name = "cdep"; outputs = [ "out" "dev" ]; }).dev}${(mk { name = "cdep"; outputs = [ "out" "dev" ]; }).drvPath}${./src/hello.txt}"; in builtins.appendContext "" (builtins.getContext s); }
