({ a ? 1, b ? 2 }@args: args) { b = 3; }
