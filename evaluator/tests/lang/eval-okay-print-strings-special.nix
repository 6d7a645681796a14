[ "with \"quotes\"" "dollar ${"$"}{brace}" "back\\slash" "tab\t" "$" "${"$"}" ]
