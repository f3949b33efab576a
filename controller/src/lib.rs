//! The dr controller library.
