{ a = 1; b = throw "printing forces b"; }
