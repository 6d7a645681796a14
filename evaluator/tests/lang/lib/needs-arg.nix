{ n }: { result = n * 2; }
