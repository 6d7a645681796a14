# Heavy string building with interpolation and concatStringsSep.
let
  lines = builtins.genList (i: "line ${toString i}: ${builtins.substring 0 3 "abcdef"}-${toString (i * 7)}") 1400000;
  text = builtins.concatStringsSep "\n" lines;
in
builtins.stringLength text
