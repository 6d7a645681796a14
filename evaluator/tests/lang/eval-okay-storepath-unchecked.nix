builtins.storePath "/nix/store/00000000000000000000000000000000-nxe-missing"
