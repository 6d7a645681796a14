undefinedInHelper + 1
