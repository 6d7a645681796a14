[ 1 /* open
