let y = 2; in rec { inherit y; z = y + 1; }
