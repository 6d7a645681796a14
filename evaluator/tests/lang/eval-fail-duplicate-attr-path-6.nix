{ a.b = 1; a = { inherit ({ b = 1; }) b; }; }
