let
  drv = name: derivation { inherit name; builder = "/bin/sh"; system = "x86_64-linux"; };
in
assert { d = drv "a"; } == { d = drv "b"; };
null
