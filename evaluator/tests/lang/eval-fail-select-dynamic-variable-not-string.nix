let
  hosts = { web.port = 80; };
  which = [ "web" ];
in
hosts.web.${which}
