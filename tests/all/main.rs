//! The integration tests of the binary crate, one test binary (`cargo test --test all`): each
//! module was a test binary of its own, and each linked the whole dependency graph. Run one module
//! with a filter, for example `cargo test --test all state_file::`.

mod binary_logs;
mod binary_scenario;
mod binary_shutdown;
mod binary_webhooks;
mod browser;
mod common;
mod contract_public_only;
mod dashboard_state;
mod hardening;
mod no_wall_clock;
mod redaction;
mod state_file;
mod writes_under_load;
