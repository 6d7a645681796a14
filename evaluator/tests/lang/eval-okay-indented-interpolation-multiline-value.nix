let v = "one\n  two"; in ''
    start
    ${v}
    end
''
