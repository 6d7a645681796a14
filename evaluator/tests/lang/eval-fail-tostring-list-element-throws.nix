toString [ "a" (throw "an element") ]
