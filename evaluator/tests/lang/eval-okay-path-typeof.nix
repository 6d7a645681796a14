map builtins.typeOf [ ./a /b ~/c <lang> ]
