throw "a custom error"
