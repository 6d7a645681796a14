f x /* y
