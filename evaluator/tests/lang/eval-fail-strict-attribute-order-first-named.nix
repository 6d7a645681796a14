# Names the reference names as it parses: b before a, so b fails first.
{ b = throw "b"; a = throw "a"; }
