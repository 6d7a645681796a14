(a with b; c)
