//! The contract suite, one test binary (`contract`): each module was a test binary of its own, and
//! each linked the whole dependency graph. `contract-tests/run` (`just contract`) runs it with the
//! workspace's feature resolution (`cargo test --workspace --test contract`), so after
//! `cargo test --workspace` it rebuilds nothing; `--vendor` picks the modules of one vendor. A
//! test's name in the journal and the report is `contract::module::test`.

mod payt;
mod payt_invoicing;
mod payt_parties;
mod payt_workflow;
mod paywise;
mod paywise_accounts;
mod paywise_lifecycle;
mod paywise_partner;
mod paywise_v2;
mod paywise_v2_partner;
mod paywise_webhooks;
