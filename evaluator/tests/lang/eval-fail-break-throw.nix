builtins.break (throw "thrown under break")
