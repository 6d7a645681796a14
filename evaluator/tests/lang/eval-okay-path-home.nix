[ ~/foo ~/a/b.txt ]
