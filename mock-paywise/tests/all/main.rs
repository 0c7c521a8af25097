//! The integration tests of the paywise mock, one test binary (`cargo test -p mock-paywise --test
//! all`): each module was a test binary of its own, and each linked the whole dependency graph.
//! Run one module with a filter, for example `cargo test -p mock-paywise --test all v2_partner::`.

mod accounts;
mod control;
mod lifecycle;
mod mock;
mod scale;
mod scenarios;
mod sdk;
mod snapshots;
mod spec;
mod time;
mod v2;
mod v2_partner;
mod v2_statements;
mod vendor_rules;
mod webhooks;
mod webhooks_tls;
mod world_data;
mod worlds_concurrent;
