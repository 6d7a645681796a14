rec { x = { y = z; }; z = 5; }
