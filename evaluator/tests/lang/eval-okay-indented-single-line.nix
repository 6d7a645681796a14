[ ''abc'' ''  spaced  '' '''' ]
