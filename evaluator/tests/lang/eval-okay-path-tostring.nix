[ (toString ./lib) (toString /a/b) (toString ~/x) ]
