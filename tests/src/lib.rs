//! End-to-end tests of the `nxe` binary live in `tests/`; this library is empty.
