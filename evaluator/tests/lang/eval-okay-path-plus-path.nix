[ (/a + /b) (./lib + /simple.nix) ]
