builtins.partition (x: throw "the predicate") [ (throw "the element") ]
