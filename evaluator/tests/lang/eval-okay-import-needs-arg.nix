(import ./lib/needs-arg.nix { n = 21; }).result
