//! How many repeated elements one request may carry (issue 16): every list a body can hold has a
//! cap, checked on the decoded list before anything is built from its items, and refused with
//! Payt's validation error (422 `invalid_parameter`, the message naming the list, its length and
//! the cap). Payt documents one list bound, `maxItems: 1000` for the `invoice_numbers` and
//! `invoice_identifiers` of `PATCH /v1/invoices/block` and `/resume`; the bulk writes and the
//! other key lists use the same 1,000, the lists inside one record smaller caps (mock decisions,
//! generous for real use). The body as a whole is held to [`mock_core::body::JSON_LIMITS`] first.

use crate::body::Problem;

/// Records of one bulk write (`invoices`, `debtors`, `contacts`, `files`, `messages`,
/// `payment_conditions`, `psp_mandates`, `vat_rates`).
pub const MAX_RECORDS: usize = 1_000;
/// Keys in one list of a body (`invoice_numbers`, `invoice_identifiers`, `credit_case_numbers`):
/// Payt's documented `maxItems`.
pub const MAX_KEYS: usize = 1_000;
/// Terms of one payment plan (83 years of monthly terms).
pub const MAX_TERMS: usize = 1_000;
/// Lines of one invoice.
pub const MAX_INVOICE_LINES: usize = 1_000;
/// Payments given with one invoice.
pub const MAX_INVOICE_PAYMENTS: usize = 1_000;
/// Labels of one invoice or debtor.
pub const MAX_LABELS: usize = 100;
/// Attachments of one message.
pub(crate) const MAX_ATTACHMENTS: usize = 20;
/// Data rows of one order file (`POST /v1/orders`).
pub const MAX_ORDER_ROWS: usize = 10_000;

/// 422 `invalid_parameter` when the list at `path` has more than `max` items.
pub fn cap(path: &str, len: usize, max: usize) -> Result<(), Problem> {
    if len > max {
        return Err(too_many(path, len, max));
    }
    Ok(())
}

/// The refusal of a list at `path` with `len` items, `max` allowed.
pub fn too_many(path: &str, len: usize, max: usize) -> Problem {
    Problem::invalid(
        path,
        format_args!("has {len} items: at most {max} are allowed in one request"),
    )
}
