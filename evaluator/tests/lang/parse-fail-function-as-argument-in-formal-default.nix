{ a ? map x: x }: a
