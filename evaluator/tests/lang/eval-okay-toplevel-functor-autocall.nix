{ __functor = self: { a ? 2 }: a * 10; }
