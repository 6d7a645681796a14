[ 1 (throw "printing forces element") ]
