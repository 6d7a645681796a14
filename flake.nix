{
  description = "nxe: a build-and-test engine for Nix mono-repos with its own Nix evaluator";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        nxe = pkgs.rustPlatform.buildRustPackage {
          pname = "nxe";
          version = "0.1.0";
          src = pkgs.lib.cleanSource ./.;
          cargoLock.lockFile = ./Cargo.lock;
          cargoBuildFlags = [ "-p" "nxe" ];
          # The differential tests compare against this Nix.
          nativeCheckInputs = [ pkgs.nix ];
          checkFlags = [ "--skip=nxe_agrees_with_the_reference_nix" ];
          meta = {
            description = "Build-and-test engine for Nix mono-repos";
            mainProgram = "nxe";
          };
        };
        default = nxe;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [ pkgs.cargo pkgs.rustc pkgs.clippy pkgs.rustfmt pkgs.nix pkgs.hyperfine ];
        };
      });

      checks = forAllSystems (pkgs: {
        nxe = self.packages.${pkgs.system}.nxe;
        fmt = pkgs.runCommand "nxe-fmt" { nativeBuildInputs = [ pkgs.cargo pkgs.rustfmt ]; } ''
          cd ${./.} && cargo fmt --all --check && touch $out
        '';
      });
    };
}
