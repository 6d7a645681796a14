[ (builtins.match "^a$" "a") (builtins.match "^(.*)$" "whole") ]
