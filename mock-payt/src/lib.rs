//! mock-payt
