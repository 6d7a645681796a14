let "quoted" = 5; in quoted
