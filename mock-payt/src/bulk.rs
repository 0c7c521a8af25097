//! `CustomerApi_SuccessEntity`: the answer of Payt's bulk writes.
//!
//! `{"success": true, "count": 2, "errors": {"INV-1": ["debtor_not_found"]}, "warnings": {...}}`:
//! `count` is how many records were processed without errors, `errors` is keyed by the record's
//! business key (the invoice number, debtor number, ...; `reference/payt.md` O6) with snake_case
//! codes as messages, and `warnings` appears only when there are warnings. A partial failure is
//! still `success: true`; `success` is false only when records were sent and none was processed.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::body::Body;
use crate::error::PaytError;
use crate::state::{AppState, Caller, Db};

/// A bulk upsert's list (`debtors`, `contacts`): the body key of its records, what one record is
/// called (`invalid_{one}` is the code of a record that is not an object), the keys that name a
/// record in the answer, first given first, and the scope it needs.
pub struct Upsert {
    /// The body key of the records, and the `{list}[{i}]` fallback name of a record.
    pub list: &'static str,
    /// One record: `debtor`, `contact`.
    pub one: &'static str,
    /// The record keys that name it in `errors` and `warnings`.
    pub names: &'static [&'static str],
    /// The grant the write needs.
    pub scope: &'static str,
}

impl Upsert {
    /// The bulk write of `body`: the caller's grant and administration checked, then each
    /// record given to `one` inside one store write (its warnings, or the codes it is refused
    /// with), and the `CustomerApi_SuccessEntity` of them all.
    pub fn run(
        &self,
        state: &AppState,
        caller: &Caller,
        body: &Body,
        mut one: impl FnMut(&mut Db, u64, &Map<String, Value>) -> Result<Vec<String>, Vec<String>>,
    ) -> Result<Bulk, PaytError> {
        let admin = body.authorize(state, caller, self.scope)?;
        let records = body.records(self.list, self.one)?;
        Ok(state.store.write(|db| {
            let mut bulk = Bulk::new();
            for (i, r) in records.iter().enumerate() {
                let key = self.name(r, i);
                let Value::Object(map) = r else {
                    bulk.reject(key, format!("invalid_{}", self.one));
                    continue;
                };
                match one(db, admin, map) {
                    Ok(warnings) => {
                        bulk.processed();
                        for w in warnings {
                            bulk.warn(key.clone(), w);
                        }
                    }
                    Err(codes) => codes.into_iter().for_each(|c| bulk.reject(key.clone(), c)),
                }
            }
            bulk
        }))
    }

    /// The name of record `i` in the answer: its first non-blank naming key, else `{list}[{i}]`.
    fn name(&self, r: &Value, i: usize) -> String {
        self.names
            .iter()
            .find_map(|k| match r.get(*k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| format!("{}[{i}]", self.list))
    }
}

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
