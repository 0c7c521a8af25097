//! The option to emit ids as JSON integers.
//!
//! Payt's spec types every id (and the cursor) as a string and its per-operation examples agree, so
//! the mock emits strings. One page of Payt's docs (pagination and syncing) shows integers instead.
//! A client written against that page can run the mock with `--payt-integer-ids`: every `id`,
//! `*_id` and `cursor` value that is a string of digits is then written as a number. Parameters
//! accept both forms either way.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Number, Value};

/// Rewrites id strings into numbers, recursively.
pub(crate) fn to_integers(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let is_id = k == "id" || k == "cursor" || k.ends_with("_id");
                match child {
                    Value::String(s)
                        if is_id && !s.is_empty() && s.len() < 16 && s.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        if let Ok(n) = s.parse::<u64>() {
                            *child = Value::Number(Number::from(n));
                        }
                    }
                    _ => to_integers(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_integers),
        _ => {}
    }
}

/// Middleware that applies [`to_integers`] to every JSON response body.
pub async fn middleware(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    mock_core::server::map_json_body(res, |bytes| {
        let mut v = serde_json::from_slice::<Value>(bytes).ok()?;
        to_integers(&mut v);
        serde_json::to_vec(&v).ok()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_become_numbers_and_nothing_else_does() {
        let mut v = json!({"data": [{"id": "12", "debtor_id": "7", "debtor_number": "10001", "active_payment_plan_id": null,
                                      "payment_terms": [{"id": "3"}], "invoice_identifier": "55"}],
                           "pagination": {"cursor": "12"}});
        to_integers(&mut v);
        assert_eq!(
            v,
            json!({"data": [{"id": 12, "debtor_id": 7, "debtor_number": "10001", "active_payment_plan_id": null,
                                        "payment_terms": [{"id": 3}], "invoice_identifier": "55"}],
                             "pagination": {"cursor": 12}})
        );
    }
}
