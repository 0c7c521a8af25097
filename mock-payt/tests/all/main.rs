//! The integration tests of the Payt mock, one test binary (`cargo test -p mock-payt --test all`):
//! each module was a test binary of its own, and each linked the whole dependency graph. Run one
//! module with a filter, for example `cargo test -p mock-payt --test all workflow::`.

mod control;
mod invoicing;
mod mock;
mod pagination;
mod parties;
mod scale;
mod scenarios;
mod snapshots;
mod spec;
mod time;
mod uploads;
mod webhooks;
mod workflow;
mod world_data;
