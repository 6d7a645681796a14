let n = 1; in ./file-${toString (n + 1)}.txt
