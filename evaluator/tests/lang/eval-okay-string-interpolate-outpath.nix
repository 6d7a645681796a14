[ "${{ outPath = "/some/where"; }}" "${{ outPath = { outPath = "deep"; }; }}" ]
