rec { a = 1; [ ] }
