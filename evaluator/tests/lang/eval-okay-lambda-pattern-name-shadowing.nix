let x = "outer"; in (x@{ y ? x }: y) { }
