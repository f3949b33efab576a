//! Unit tests of the native `apt` module.
