with { x = "outer"; }; with { x = "inner"; }; x
