# A thunk being evaluated shows in a message as «potential infinite recursion».
let x = if [ x ] then 1 else 2; in x
