{ inherit a ~/b; }
