[ "héllo" (builtins.stringLength "héllo") "日本" (builtins.stringLength "日本") ]
