let
  fetch = import <nix/fetchurl.nix>;
  a = fetch { url = "http://example.org/a.tar.gz"; sha256 = "0000000000000000000000000000000000000000000000000000"; };
  b = fetch { url = "http://example.org/tool"; sha1 = "0000000000000000000000000000000000000000"; executable = true; };
  c = fetch { url = "http://example.org/src/"; hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; unpack = true; name = "src"; };
in
[
  <nix/fetchurl.nix>
  (builtins.functionArgs fetch)
  (map (d: [ d.drvPath d.outPath d.name d.outputHashMode ]) [ a b c ])
  (builtins.attrNames a)
]
