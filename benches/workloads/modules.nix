# The module system: the fleet's lib evaluating a few hundred options over nested
# submodules, with mkIf/mkMerge/mkDefault/mkForce/mkOrder, forced to JSON.
let
  lib = import ../../fixtures/fleet/lib;
  inherit (lib) mkOption types;

  nGroups = 12;
  nOptions = 25;
  nServices = 240;
  nModules = 110;

  # options.settings.g<i>.o<j>: nGroups * nOptions plain options of a few types.
  settingsModule = {
    options.settings = lib.genAttrs (map (i: "g${toString i}") (lib.range 1 nGroups)) (
      group:
      lib.genAttrs (map (j: "o${toString j}") (lib.range 1 nOptions)) (
        name:
        if lib.hasSuffix "0" name then
          mkOption {
            type = types.listOf types.str;
            default = [ "${group}-${name}" ];
          }
        else if lib.hasSuffix "1" name then
          mkOption {
            type = types.lines;
            default = "# ${group}.${name}";
          }
        else
          mkOption {
            type = types.either types.int types.str;
            default = 0;
          }
      )
    );
  };

  # options.services.<name>: a submodule with nested users and settings.
  servicesModule = {
    options.services = mkOption {
      default = { };
      type = types.attrsOf (
        types.submodule (
          { name, config, ... }:
          {
            options = {
              enable = lib.mkEnableOption "the service";
              port = mkOption {
                type = types.port;
                default = 8000;
              };
              user = mkOption {
                type = types.str;
                default = name;
              };
              extraArgs = mkOption {
                type = types.listOf types.str;
                default = [ ];
              };
              environment = mkOption {
                type = types.attrsOf types.str;
                default = { };
              };
              users = mkOption {
                default = { };
                type = types.attrsOf (
                  types.submodule (
                    { name, ... }:
                    {
                      options.uid = mkOption { type = types.int; };
                      options.groups = mkOption {
                        type = types.listOf types.str;
                        default = [ "users" ];
                      };
                      options.home = mkOption {
                        type = types.str;
                        default = "/home/${name}";
                      };
                    }
                  )
                );
              };
              url = mkOption {
                type = types.str;
                default = "http://localhost:${toString config.port}/${name}";
              };
            };
          }
        )
      );
    };
  };

  serviceName = k: "svc${toString k}";

  # Module m defines a slice of services and settings with every kind of property.
  definitions =
    m:
    { config, ... }:
    {
      services = lib.listToAttrs (
        map (
          k:
          lib.nameValuePair (serviceName k) {
            enable = lib.mkDefault (lib.mod k 3 != 0);
            port = lib.mkIf (lib.mod (k + m) 4 == 0) (lib.mkOverride (900 + m) (8000 + k + m));
            extraArgs = lib.mkMerge [
              [ "--module=${toString m}" ]
              (lib.mkIf (lib.mod m 2 == 0) (lib.mkBefore [ "--even" ]))
              (lib.mkAfter [ "--last-${toString m}" ])
            ];
            environment."M${toString m}" = "${toString (m * k)}";
            users = lib.genAttrs (map (u: "u${toString u}") (lib.range 1 3)) (u: {
              uid = lib.mkDefault (1000 + k);
              groups = lib.mkOrder (1000 + m) [ "g${toString m}" ];
            });
          }
        ) (lib.filter (k: lib.mod (k + m) 3 == 0) (lib.range 1 nServices))
      );
      settings = lib.genAttrs (map (i: "g${toString i}") (lib.filter (i: lib.mod (i + m) 4 == 0) (lib.range 1 nGroups))) (
        group: {
          o3 = if m == 4 then lib.mkForce m else lib.mkOverride (60 + m) m;
          o4 = lib.mkIf (config.settings.${group}.o3 > 10) "large";
          o10 = lib.mkAfter [ "from-${toString m}" ];
          o11 = "line from module ${toString m}";
        }
      );
    };
in
builtins.hashString "sha256" (
  builtins.toJSON (lib.evalModules {
    modules = [
      settingsModule
      servicesModule
    ]
    ++ map definitions (lib.range 1 nModules);
  }).config
)
