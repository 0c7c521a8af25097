//! The integration tests of mock-core, one test binary (`cargo test -p mock-core --test all`), as
//! every crate of the workspace has: a new test file becomes a module here, not a binary of its
//! own (each binary links the whole dependency graph). Run one module with a filter, for example
//! `cargo test -p mock-core --test all serving::`.

mod serving;
