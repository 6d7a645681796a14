[ { } [ ] "" null ]
