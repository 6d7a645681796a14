let x = { }; in "a ${x}"
