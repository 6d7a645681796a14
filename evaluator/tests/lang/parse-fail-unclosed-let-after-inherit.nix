let inherit a;
