let base = ./lib; name = "simple.nix"; in import (base + "/${name}")
