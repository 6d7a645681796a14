# Items of every kind concatStringsSep takes: strings, finished thunks, paths, derivations.
let d = derivation { name = "d"; system = "x"; builder = "/b"; }; in
[ (builtins.concatStringsSep ", " [ "a" ./eval-okay-concat-strings-sep-mixed.nix "b" d (toString 1) "c" ])
  (builtins.concatStringsSep "" [])
  (builtins.concatStringsSep "-" [ "x" ])
  (builtins.concatStringsSep "::" [ d d "${d}" ])
  (builtins.getContext (builtins.concatStringsSep "/" [ "a" d ./eval-okay-concat-strings-sep-mixed.nix ]))
  (builtins.concatStringsSep "+" (map (x: "p${toString x}") [ 1 2 3 ]))
]
