[ (builtins.getEnv "TEST_VAR") (builtins.getEnv "HOME") (builtins.getEnv "NXE_SURELY_UNSET_VARIABLE") ]
