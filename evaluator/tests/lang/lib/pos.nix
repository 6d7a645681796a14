{
  first = 1;
  second = {
    inner = "x";
  };
}
