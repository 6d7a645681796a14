let right = 0; in
(throw "left") // right
