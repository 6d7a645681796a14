builtins.fromJSON ''["\u00e9", "\u65e5\u672c", "\ud83d\ude00", "a\nb", "\/"]''
