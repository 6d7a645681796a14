# A value met again in a message is «repeated».
let s = { a = 1; }; in builtins.seq s (if [ s s ] then 1 else 2)
