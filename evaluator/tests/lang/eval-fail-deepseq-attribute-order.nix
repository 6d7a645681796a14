# deepSeq forces attributes in the same order as strict output.
builtins.deepSeq { y2 = throw "y2"; x1 = throw "x1"; } 1
