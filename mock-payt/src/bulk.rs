//! `CustomerApi_SuccessEntity`: the answer of Payt's bulk writes.
//!
//! `{"success": true, "count": 2, "errors": {"INV-1": ["debtor_not_found"]}, "warnings": {...}}`:
//! `count` is how many records were processed without errors, `errors` is keyed by the record's
//! business key (the invoice number, debtor number, ...; `reference/payt.md` O6) with snake_case
//! codes as messages, and `warnings` appears only when there are warnings. A partial failure is
//! still `success: true`; `success` is false only when records were sent and none was processed.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The outcome of a bulk write, record by record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bulk {
    count: u64,
    attempted: u64,
    errors: BTreeMap<String, Vec<String>>,
    warnings: BTreeMap<String, Vec<String>>,
}

impl Bulk {
    /// An empty outcome.
    pub fn new() -> Self {
        Self::default()
    }

    /// A record was processed.
    pub fn processed(&mut self) {
        self.count += 1;
        self.attempted += 1;
    }

    /// The record with business key `key` was rejected with `code` (snake_case).
    pub fn reject(&mut self, key: impl Into<String>, code: impl Into<String>) {
        self.attempted += 1;
        self.errors.entry(key.into()).or_default().push(code.into());
    }

    /// The record with `key` was processed, with a warning.
    pub fn warn(&mut self, key: impl Into<String>, code: impl Into<String>) {
        self.warnings.entry(key.into()).or_default().push(code.into());
    }

    /// The entity.
    pub fn to_json(&self) -> Value {
        let success = self.count > 0 || self.attempted == 0;
        let mut v = json!({ "success": success, "count": self.count, "errors": self.errors });
        if !self.warnings.is_empty() {
            v["warnings"] = json!(self.warnings);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_failure_is_success_with_errors() {
        let mut b = Bulk::new();
        b.processed();
        b.reject("INV-2", "debtor_not_found");
        assert_eq!(
            b.to_json(),
            json!({"success": true, "count": 1, "errors": {"INV-2": ["debtor_not_found"]}})
        );
        let mut none = Bulk::new();
        none.reject("X", "invalid");
        none.warn("X", "w");
        assert_eq!(none.to_json()["success"], json!(false));
        assert_eq!(none.to_json()["warnings"], json!({"X": ["w"]}));
    }
}
