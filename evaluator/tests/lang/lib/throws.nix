throw "thrown from a helper file"
