a:
  a |> builtins.head
