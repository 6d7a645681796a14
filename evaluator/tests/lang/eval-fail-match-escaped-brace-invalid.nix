builtins.match "\\$\\{.*\\}" "\${x}"
