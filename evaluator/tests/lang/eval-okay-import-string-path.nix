(import (toString ./lib/simple.nix)).x
