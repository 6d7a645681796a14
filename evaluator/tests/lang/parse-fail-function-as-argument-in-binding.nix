{
  f = map x: x;
}
