[ 1 "two" 3.5 null true ./p [ ] { } (x: x) ]
