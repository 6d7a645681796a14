null / "a"
