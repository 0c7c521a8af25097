//! Spec checks per group of resources; each runs on its own mock.

pub mod invoicing;
pub mod parties;
pub mod workflow;
