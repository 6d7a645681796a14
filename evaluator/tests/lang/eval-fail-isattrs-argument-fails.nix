# A failure in an argument computed at the call of a builtin.
let f = x: if x > 0 then throw "boom ${toString x}" else { }; in builtins.isAttrs (f 1)
