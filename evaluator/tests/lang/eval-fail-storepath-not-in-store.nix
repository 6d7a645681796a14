builtins.storePath "/tmp-not-store/x"
