let n = "N"; in ''
    a ${n}
      b ${n}
''
