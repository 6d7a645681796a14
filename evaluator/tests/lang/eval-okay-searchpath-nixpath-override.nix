let __nixPath = [ { prefix = "p"; path = toString ./dir; } ]; in <p/a.txt>
