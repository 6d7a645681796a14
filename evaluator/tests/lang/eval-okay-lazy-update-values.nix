({ a = throw "x"; } // { b = 2; }).b
