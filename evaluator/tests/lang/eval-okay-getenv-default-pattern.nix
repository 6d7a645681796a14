let v = builtins.getEnv "NXE_NOT_SET_EITHER"; in if v == "" then "default" else v
