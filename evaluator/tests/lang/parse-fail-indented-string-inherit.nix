{ inherit (x) ''a''; }
