/a//b/c
