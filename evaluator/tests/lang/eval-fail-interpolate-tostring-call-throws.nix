"a ${toString (throw "boom")}"
