let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf3"; f = builtins.toFile "script.sh" ''
    #!/bin/sh
    echo hi
  ''; }
