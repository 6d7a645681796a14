[ <lang> <lang/simple.nix> (import <lang/simple.nix>).y ]
