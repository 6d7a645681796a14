builtins.fetchurl { url = throw "the url"; name = throw "the name"; sha256 = throw "the hash"; }
