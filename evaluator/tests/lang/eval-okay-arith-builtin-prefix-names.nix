[ (__add 1 2) (__sub 5 3) (__mul 2 3) (__div 9 2) (__length [ 1 ]) ]
