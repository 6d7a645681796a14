{ ''s'' = 1; /* open
