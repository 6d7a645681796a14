[ (1 let) ]
