({ alpha, beta ? 1 }: alpha) { alpha = 1; betta = 2; }
