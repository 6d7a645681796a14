let __findFile = nixPath: name: "found ${name}"; in [ <anything> <x/y/z> ]
