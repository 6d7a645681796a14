let b = "b"; in
./a ${b}
