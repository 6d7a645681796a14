"outer ${"inner ${"deepest"}"} end"
