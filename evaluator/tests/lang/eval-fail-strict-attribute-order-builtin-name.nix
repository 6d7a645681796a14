# Strict output forces a set's attributes in the order the reference keeps them in, that of
# their names' naming: its own names (builtins' among them) first, so map fails first.
{ c = throw "c"; map = throw "map"; }
