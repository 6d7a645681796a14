builtins.addErrorContext "while doing something important" (throw "boom")
