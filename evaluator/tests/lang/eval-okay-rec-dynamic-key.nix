let x = "outer"; in rec { x = "inner"; ${x} = 1; }
