let x = "b"; n = 3; in [ "a${x}c" "${x}" "n=${toString n}" "${x}${x}" ]
