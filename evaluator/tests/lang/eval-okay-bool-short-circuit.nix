[ (false && throw "x") (true || throw "y") (true && false) (false || true) ]
