map x@{ ... }: x
