[ (builtins.hasContext "plain") (builtins.getContext "plain") ]
