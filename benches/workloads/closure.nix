# genericClosure over a graph of thousands of nodes.
let
  n = 200000;
  next = k: [ { key = (k * 2) - (k * 2) / n * n; } { key = (k + 7) - (k + 7) / n * n; } ];
  closure = builtins.genericClosure {
    startSet = [ { key = 1; } ];
    operator = item: next item.key;
  };
in
builtins.length closure
