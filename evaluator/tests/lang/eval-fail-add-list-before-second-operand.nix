[ 1 ] + (throw "second")
