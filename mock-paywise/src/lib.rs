//! mock-paywise
