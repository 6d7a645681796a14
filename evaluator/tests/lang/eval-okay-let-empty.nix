let in 42
