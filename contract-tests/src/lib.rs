//! contract-tests
