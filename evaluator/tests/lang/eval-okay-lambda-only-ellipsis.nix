({ ... }: "ok") { anything = 1; }
