({ a, ... }@args: [ a args ]) { a = 1; c = 3; }
