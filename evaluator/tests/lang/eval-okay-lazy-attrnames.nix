builtins.attrNames { b = throw "x"; a = abort "y"; }
