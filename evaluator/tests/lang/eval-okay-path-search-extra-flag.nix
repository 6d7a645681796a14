[ <extra> (builtins.readFile <extra/a.txt>) ]
