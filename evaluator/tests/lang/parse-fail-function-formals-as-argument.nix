map { a, b }: a
