"${map x: x}"
