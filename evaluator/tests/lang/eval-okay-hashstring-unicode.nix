builtins.hashString "sha1" "日本語"
