builtins.hashFile "sha256" ./lib/data.txt == builtins.hashString "sha256" (builtins.readFile ./lib/data.txt)
