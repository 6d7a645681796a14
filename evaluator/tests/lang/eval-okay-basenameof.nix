map baseNameOf [ "/a/b" "/a/b/" "" "a" "/" "a/b.c" "//x//" ]
