[ (true -> false) (false -> throw "unused") (true -> true) (false -> false) ]
