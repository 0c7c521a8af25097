//! The storage form of records: what a world's snapshot and the state file hold.
//!
//! A record's `Serialize` writes what the vendor's API shows, and some fields the API never shows
//! (a Payt invoice's reminder flow, a debtor's IBAN, a paywise webhook's secret) are
//! `#[serde(skip)]` there. A snapshot must keep them, or a restored world would differ from the
//! one it was taken of. So such fields are marked
//!
//! ```ignore
//! #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
//! pub flow: String,
//! ```
//!
//! which skips them in every API answer and writes them while [`to_value`] (or [`to_vec`])
//! serializes a snapshot: the one switch is a thread-local flag that only these two functions set,
//! for the duration of one synchronous serialization. Everything else about a record (ids as
//! strings, timestamps, money) is stored exactly as the API writes it, and read back with the same
//! `Deserialize` the vendor uses for its own formats.

use std::cell::Cell;

use serde::Serialize;

thread_local! {
    static STORING: Cell<bool> = const { Cell::new(false) };
}

/// Sets the flag for its lifetime and restores what was there before (snapshots nest harmlessly).
struct Storing(bool);

impl Storing {
    fn enter() -> Self {
        Self(STORING.with(|s| s.replace(true)))
    }
}

impl Drop for Storing {
    fn drop(&mut self) {
        STORING.with(|s| s.set(self.0));
    }
}

/// `skip_serializing_if` for fields the API never shows: true (skip) unless a snapshot is being
/// written on this thread.
pub fn hidden<T: ?Sized>(_: &T) -> bool {
    !STORING.with(Cell::get)
}

/// Whether a snapshot is being written on this thread (for hand-written `Serialize` impls).
pub fn storing() -> bool {
    STORING.with(Cell::get)
}

/// `value` in its storage form, hidden fields included.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<serde_json::Value> {
    let _on = Storing::enter();
    serde_json::to_value(value)
}

/// `value` in its storage form as JSON text, hidden fields included.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let _on = Storing::enter();
    serde_json::to_vec(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Invoice {
        number: String,
        #[serde(default, skip_serializing_if = "crate::snapshot::hidden")]
        flow: String,
    }

    #[test]
    fn hidden_fields_are_written_only_into_snapshots() {
        let i = Invoice {
            number: "F1".into(),
            flow: "b2b".into(),
        };
        assert_eq!(serde_json::to_string(&i).expect("json"), r#"{"number":"F1"}"#);
        let stored = to_value(&i).expect("json");
        assert_eq!(stored, serde_json::json!({"number": "F1", "flow": "b2b"}));
        assert_eq!(serde_json::from_value::<Invoice>(stored).expect("loads"), i);
        assert!(!storing(), "the flag is off again after a snapshot");
        assert_eq!(serde_json::to_string(&i).expect("json"), r#"{"number":"F1"}"#);
    }
}
