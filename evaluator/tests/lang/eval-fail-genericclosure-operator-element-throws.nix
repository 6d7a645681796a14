# The elements the operator returns are forced as soon as it returns them.
builtins.genericClosure {
  startSet = [ { key = 1; } ];
  operator = e: if e.key == 1 then [ { key = 2; } (throw "element of ${toString e.key}") ] else [ ];
}
