//! Django REST Framework-style body validation.
//!
//! [`Obj`] reads one JSON object field by field and collects DRF's error messages under the
//! field names: nested objects nest their errors, lists of objects give a list with `{}` for each
//! valid item, and [`Obj::finish`] hands back the whole tree for a 400. The messages are DRF's own
//! wording, so a client's error handling sees what it will see in production.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::format::{Currency, Money};
use crate::vendor::CURRENCIES;

/// The message for a required field that is missing.
pub(crate) const REQUIRED: &str = "This field is required.";
/// The message for a null in a non-nullable field.
pub(crate) const NOT_NULL: &str = "This field may not be null.";

/// The most elements any list of a v1 body may carry (DRF `ListField(max_length=100)`, refused
/// with DRF's "Ensure this field has no more than 100 elements."). v1 documents no list bound;
/// v2, the same vendor's later API, documents at most 100 for its longest lists (claim `items`,
/// `metadata`) and 50 for claim `additional_charges` and `payments`, so 100 is the cap here (a
/// mock decision, issue 16). Lists of choices (`events`, `allowed_answer_types`) collapse
/// duplicates into at most their choices, as DRF's `MultipleChoiceField` does.
pub const MAX_LIST_ITEMS: usize = 100;

/// DRF's message for a list longer than `max`.
pub(crate) fn too_many_elements(max: usize) -> String {
    format!("Ensure this field has no more than {max} elements.")
}

/// Python's name for the type of a JSON value, as DRF's messages show it.
pub(crate) fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The error a nested serializer gives for a value that is not an object.
pub(crate) fn not_a_dict(v: &Value) -> Value {
    json!({ "non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", py_type(v))] })
}

/// How a field is declared, in the terms of paywise's OpenAPI files: `required`, `nullable` and
/// `minLength: 1` (DRF's `allow_blank=False`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Spec {
    /// Whether the field must be present (`required`).
    pub required: bool,
    /// Whether `null` is accepted (`nullable: true`).
    pub nullable: bool,
    /// Whether an empty (or all-blank) string is accepted (no `minLength: 1`).
    pub blank: bool,
}

/// Required, not null, not blank.
pub(crate) const REQ: Spec = Spec {
    required: true,
    nullable: false,
    blank: false,
};
/// Required but may be `null` or blank: what the files say of most claim fields (`required` and
/// `nullable: true`, no `minLength`).
pub(crate) const NULLABLE: Spec = Spec {
    required: true,
    nullable: true,
    blank: true,
};
/// Optional, may be `null` or blank.
pub(crate) const OPT: Spec = Spec {
    required: false,
    nullable: true,
    blank: true,
};
/// Optional, but not `null` when given (blank is checked by the field's own rule).
pub(crate) const OPT_NOT_NULL: Spec = Spec {
    required: false,
    nullable: false,
    blank: true,
};
/// An optional list or nested object: not `null` (the files never mark them `nullable`).
pub(crate) const OPT_LIST: Spec = OPT_NOT_NULL;
/// An optional nested object, not `null`.
pub(crate) const OPT_OBJECT: Spec = OPT_LIST;
/// Optional, but when given neither `null` nor blank (`minLength: 1`, not nullable).
pub(crate) const OPT_NOT_BLANK: Spec = Spec {
    required: false,
    nullable: false,
    blank: false,
};

/// One JSON object under validation.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    errors: Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// Starts validating `v`; a non-object gives DRF's `non_field_errors`.
    pub fn new(v: &'a Value) -> Result<Self, Value> {
        match v {
            Value::Object(map) => Ok(Self {
                map,
                errors: Map::new(),
            }),
            other => Err(not_a_dict(other)),
        }
    }

    /// Records `message` for `key`.
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        let entry = self
            .errors
            .entry(key.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = entry {
            items.push(Value::String(message.into()));
        }
    }

    /// Records a cross-field error.
    pub fn non_field(&mut self, message: impl Into<String>) {
        self.error("non_field_errors", message);
    }

    /// Whether errors were recorded so far.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Whether `key` has an error already.
    pub fn failed(&self, key: &str) -> bool {
        self.errors.contains_key(key)
    }

    /// The raw value of `key` after the presence and null checks; `None` when absent or null.
    fn present(&mut self, key: &str, spec: Spec) -> Option<&'a Value> {
        match self.map.get(key) {
            None => {
                if spec.required {
                    self.error(key, REQUIRED);
                }
                None
            }
            Some(Value::Null) => {
                if !spec.nullable {
                    self.error(key, NOT_NULL);
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A string field of at most `max` characters; blank is refused unless `spec.blank`.
    pub fn string(&mut self, key: &str, spec: Spec, max: Option<usize>) -> Option<String> {
        let v = self.present(key, spec)?;
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                self.error(key, "Not a valid string.");
                return None;
            }
            Value::Null => return None,
        };
        if !spec.blank && s.trim().is_empty() {
            self.error(key, "This field may not be blank.");
            return None;
        }
        if let Some(max) = max
            && s.chars().count() > max
        {
            self.error(key, format!("Ensure this field has no more than {max} characters."));
            return None;
        }
        Some(s)
    }

    /// One of `choices`.
    pub fn choice(&mut self, key: &str, spec: Spec, choices: &[&str]) -> Option<String> {
        let v = self.present(key, spec)?;
        let s = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if choices.contains(&s.as_str()) {
            Some(s)
        } else {
            self.error(key, format!("\"{s}\" is not a valid choice."));
            None
        }
    }

    /// A boolean, accepting what DRF's `BooleanField` accepts.
    pub fn boolean(&mut self, key: &str, spec: Spec) -> Option<bool> {
        let v = self.present(key, spec)?;
        let b = match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) if n.as_i64() == Some(1) => Some(true),
            Value::Number(n) if n.as_i64() == Some(0) => Some(false),
            Value::String(s) => match s.as_str() {
                "true" | "True" | "TRUE" | "t" | "T" | "yes" | "Yes" | "YES" | "y" | "Y" | "on" | "On" | "ON" | "1" => {
                    Some(true)
                }
                "false" | "False" | "FALSE" | "f" | "F" | "no" | "No" | "NO" | "n" | "N" | "off" | "Off" | "OFF"
                | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if b.is_none() {
            self.error(key, "Must be a valid boolean.");
        }
        b
    }

    /// A date `YYYY-MM-DD`.
    pub fn date(&mut self, key: &str, spec: Spec) -> Option<NaiveDate> {
        let v = self.present(key, spec)?;
        let d = v.as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        if d.is_none() {
            self.error(
                key,
                "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
            );
        }
        d
    }

    /// An ISO 8601 timestamp.
    pub fn datetime(&mut self, key: &str, spec: Spec) -> Option<DateTime<Utc>> {
        let v = self.present(key, spec)?;
        let t = v.as_str().and_then(parse_datetime);
        if t.is_none() {
            self.error(
                key,
                "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
            );
        }
        t
    }

    /// The raw value of `key`, if present (for fields that need a look before validation).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// A number (`FloatField`: JSON numbers and numeric strings).
    pub fn number(&mut self, key: &str, spec: Spec) -> Option<f64> {
        let v = self.present(key, spec)?;
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|n| n.is_finite());
        if n.is_none() {
            self.error(key, "A valid number is required.");
        }
        n
    }

    /// An integer.
    pub fn integer(&mut self, key: &str, spec: Spec) -> Option<i64> {
        let v = self.present(key, spec)?;
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if n.is_none() {
            self.error(key, "A valid integer is required.");
        }
        n
    }

    /// A money object `{"value": "12.50", "currency": "EUR"}` (`AmountRequest`): `currency` is one
    /// of `CURRENCIES` and may be left out (then `EUR`, the currency of every example paywise
    /// gives); `value` is required (our inference: an amount without a value cannot be
    /// collected). `positive` refuses zero and below (our inference, see the README).
    pub fn money(&mut self, key: &str, spec: Spec, positive: bool) -> Option<Money> {
        let (value, currency) = self.nested(key, spec, |o| {
            let value = o.decimal("value", REQ, positive);
            let currency = match o.map.get("currency") {
                None => Some(Currency::Eur),
                Some(_) => o
                    .choice("currency", REQ, CURRENCIES)
                    .and_then(|c| Currency::from_code(&c)),
            };
            (value, currency)
        })?;
        Some(Money {
            value: value?,
            currency: currency?,
        })
    }

    /// A decimal as the files' pattern `^-?\d{0,14}(?:\.\d{0,2})?$` allows (DRF's
    /// `max_digits=16, decimal_places=2`), with DRF's messages; numbers are accepted too.
    pub fn decimal(&mut self, key: &str, spec: Spec, positive: bool) -> Option<Decimal> {
        let v = self.present(key, spec)?;
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        // A JSON number the parser holds as a float (`1e20`, or an integer beyond 64 bits) is
        // read as Python's `Decimal(str(value))` reads it, so it meets the digit rules below
        // rather than "not a number"; one beyond what a decimal holds has too many digits.
        let parsed = Decimal::from_str(&text).or_else(|e| match v {
            Value::Number(_) => Decimal::from_scientific(&text),
            _ => Err(e),
        });
        let d = match parsed {
            Ok(d) => d,
            Err(_)
                if matches!(v, Value::Number(_))
                    || (text
                        .trim_start_matches('-')
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b == b'.')
                        && text.trim_start_matches('-').bytes().any(|b| b.is_ascii_digit())) =>
            {
                self.error(key, "Ensure that there are no more than 16 digits in total.");
                return None;
            }
            Err(_) => {
                self.error(key, "A valid number is required.");
                return None;
            }
        };
        let n = d.normalize();
        if n.scale() > 2 {
            self.error(key, "Ensure that there are no more than 2 decimal places.");
            return None;
        }
        let whole = n.trunc().abs().to_string().trim_start_matches('0').len();
        if whole + n.scale() as usize > 16 {
            self.error(key, "Ensure that there are no more than 16 digits in total.");
            return None;
        }
        if whole > 14 {
            self.error(
                key,
                "Ensure that there are no more than 14 digits before the decimal point.",
            );
            return None;
        }
        if positive && d < Decimal::new(1, 2) {
            self.error(key, "Ensure this value is greater than or equal to 0.01.");
            return None;
        }
        Some(d)
    }

    /// A nested object validated by `f`.
    pub fn nested<T>(&mut self, key: &str, spec: Spec, f: impl FnOnce(&mut Obj<'a>) -> T) -> Option<T> {
        let v = self.present(key, spec)?;
        let mut o = match Obj::new(v) {
            Ok(o) => o,
            Err(e) => {
                self.errors.insert(key.to_string(), e);
                return None;
            }
        };
        let out = f(&mut o);
        match o.finish() {
            Ok(()) => Some(out),
            Err(e) => {
                self.errors.insert(key.to_string(), e);
                None
            }
        }
    }

    /// A list of objects, each validated by `f`.
    pub fn list<T>(
        &mut self,
        key: &str,
        spec: Spec,
        allow_empty: bool,
        f: impl Fn(&mut Obj<'a>) -> T,
    ) -> Option<Vec<T>> {
        let v = self.present(key, spec)?;
        let Value::Array(items) = v else {
            self.error(
                key,
                format!("Expected a list of items but got type \"{}\".", py_type(v)),
            );
            return None;
        };
        if items.is_empty() && !allow_empty {
            self.error(key, "This list may not be empty.");
            return None;
        }
        // Refused before any item is read: nothing is built for the items of a list too long.
        if items.len() > MAX_LIST_ITEMS {
            self.error(key, too_many_elements(MAX_LIST_ITEMS));
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut errors = Vec::with_capacity(items.len());
        let mut failed = false;
        for item in items {
            match Obj::new(item) {
                Err(e) => {
                    failed = true;
                    errors.push(e);
                }
                Ok(mut o) => {
                    let t = f(&mut o);
                    match o.finish() {
                        Ok(()) => {
                            out.push(t);
                            errors.push(json!({}));
                        }
                        Err(e) => {
                            failed = true;
                            errors.push(e);
                        }
                    }
                }
            }
        }
        if failed {
            self.errors.insert(key.to_string(), Value::Array(errors));
            None
        } else {
            Some(out)
        }
    }

    /// The collected errors, if any.
    pub fn finish(self) -> Result<(), Value> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Value::Object(self.errors))
        }
    }
}

/// Parses what DRF's `DateTimeField` accepts.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
        .map(|t| t.and_utc())
}

/// A `{type, value}` metadata entry (`*MetaDataRequest`): `type` one of `types` (the files give
/// one list each for claims, debtors and payments), `value` 1 to 255 characters.
pub fn metadata<'a>(types: &'static [&'static str]) -> impl Fn(&mut Obj<'a>) -> Value {
    move |o| {
        let t = o.choice("type", REQ, types);
        let v = o.string("value", REQ, Some(255));
        json!({ "type": t, "value": v })
    }
}

/// An event `{type, title, occurence, your_reference, description, location}` (`*EventRequest`,
/// paywise's spelling of `occurence`): `type` one of `types`, `title` and `occurence` required,
/// the rest at most 255 characters and nullable.
pub fn event<'a>(types: &'static [&'static str]) -> impl Fn(&mut Obj<'a>) -> Value {
    move |o| event_of(o, types)
}

fn event_of(o: &mut Obj<'_>, types: &[&str]) -> Value {
    let t = o.choice("type", REQ, types);
    let title = o.string("title", REQ, Some(255));
    let occurence = o.datetime("occurence", REQ);
    let your_reference = o.string("your_reference", OPT, Some(255));
    let description = o.string("description", OPT, Some(255));
    let location = o.string("location", OPT, Some(255));
    json!({
        "type": t,
        "title": title,
        "occurence": occurence.map(|t| crate::format::timestamp(&t)),
        "your_reference": your_reference,
        "description": description,
        "location": location,
    })
}

/// paywise's one email check (a v1 debtor's email channel, the Partner API's users and invites in
/// v1 and v2), the address Django's `EmailValidator` lets through in the common cases: one `@`, a
/// non-empty local part, a dotted domain that neither starts nor ends with a dot, no white space.
pub(crate) fn looks_like_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !v.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_drf_messages() {
        let v = json!({"a": null, "c": "x".repeat(300), "d": "2024-13-01", "m": {"value": "1.234", "currency": "GBP"},
                       "l": [{"x": "1"}, {}], "n": "str"});
        let mut o = Obj::new(&v).expect("object");
        o.string("a", REQ, None);
        o.string("b", REQ, None);
        o.string("c", OPT, Some(255));
        o.date("d", OPT);
        o.money("m", REQ, true);
        o.list("l", REQ, true, |i| i.string("x", REQ, None));
        o.nested("n", OPT, |_| ());
        let e = o.finish().expect_err("errors");
        assert_eq!(e["a"], json!([NOT_NULL]));
        assert_eq!(e["b"], json!([REQUIRED]));
        assert_eq!(e["c"], json!(["Ensure this field has no more than 255 characters."]));
        assert_eq!(
            e["d"],
            json!(["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."])
        );
        assert_eq!(
            e["m"]["value"],
            json!(["Ensure that there are no more than 2 decimal places."])
        );
        assert_eq!(e["m"]["currency"], json!(["\"GBP\" is not a valid choice."]));
        assert_eq!(e["l"], json!([{}, {"x": [REQUIRED]}]));
        assert_eq!(
            e["n"],
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]})
        );
    }

    #[test]
    fn amounts_follow_the_vendor_files() {
        let v = json!({"eur": {"value": "1.00"}, "usd": {"value": 2, "currency": "USD"},
                       "wide": {"value": "12345678901234.99"}, "too_wide": {"value": "123456789012345"},
                       "no_value": {"currency": "EUR"}, "blank": {"value": "", "currency": "EUR"}});
        let mut o = Obj::new(&v).expect("object");
        assert_eq!(o.money("eur", REQ, true).map(|m| m.currency), Some(Currency::Eur));
        assert_eq!(o.money("usd", REQ, true).map(|m| m.currency), Some(Currency::Usd));
        assert!(o.money("wide", REQ, true).is_some());
        assert!(o.money("too_wide", REQ, true).is_none());
        assert!(o.money("no_value", REQ, true).is_none());
        assert!(o.money("blank", REQ, true).is_none());
        let e = o.finish().expect_err("errors");
        assert_eq!(
            e["too_wide"]["value"],
            json!(["Ensure that there are no more than 14 digits before the decimal point."])
        );
        assert_eq!(e["no_value"]["value"], json!([REQUIRED]));
        assert_eq!(e["blank"]["value"], json!(["A valid number is required."]));
    }

    #[test]
    fn blank_follows_min_length() {
        let v = json!({"a": "", "b": "", "c": null, "d": ""});
        let mut o = Obj::new(&v).expect("object");
        assert_eq!(o.string("a", NULLABLE, None).as_deref(), Some(""));
        o.string("b", REQ, None);
        assert_eq!(o.string("c", NULLABLE, None), None);
        o.string("d", OPT_NOT_BLANK, None);
        let e = o.finish().expect_err("errors");
        assert_eq!(e["b"], json!(["This field may not be blank."]));
        assert_eq!(e["d"], json!(["This field may not be blank."]));
        assert!(e.get("a").is_none() && e.get("c").is_none());
    }

    #[test]
    fn non_objects_are_refused() {
        assert_eq!(
            Obj::new(&json!([1])).err(),
            Some(json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}))
        );
    }

    #[test]
    fn an_email_has_one_at_a_local_part_and_a_dotted_domain() {
        for ok in ["a@b.de", "first.last+tag@mail.example.com"] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in ["", "a", "@b.de", "a@b", "a@.b.de", "a@b.de.", "a@b@c.de", "a b@c.de"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
