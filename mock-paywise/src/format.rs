//! How paywise writes timestamps, dates and money.
//!
//! Timestamps are DRF's ISO 8601 output: UTC with `Z`, and microseconds only when they are not
//! zero (`2023-11-07T05:31:56Z`, `2023-11-07T05:31:56.123456Z`). Dates are `YYYY-MM-DD`. Money is
//! `{"value": "12.50", "currency": "EUR"}` with the value an exact two-decimal string.
//!
//! Each of these also has a storage form (what a world's snapshot holds, see
//! [`mock_core::snapshot`]) that is exact where the API form is not: a timestamp keeps every
//! digit of its fraction, money keeps its exact value and scale, a float (an item's `quantity`)
//! is written as the decimal text Rust reads back bit for bit, and bytes are base64. Every
//! `deserialize` here reads the storage form (and the API form, which has the same shape).

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use mock_core::snapshot::storing;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp as DRF writes it.
pub fn timestamp(t: &DateTime<Utc>) -> String {
    if t.nanosecond() / 1000 == 0 {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

/// `t` truncated to microseconds, the precision paywise stores.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// Serializes a timestamp as DRF does.
pub mod ts {
    use super::*;
    /// Writes `v` as DRF does; in a snapshot with every digit of its fraction (paywise's own
    /// timestamps have microseconds, which DRF's form keeps too; this keeps any other exactly).
    pub fn serialize<S: Serializer>(v: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        if storing() {
            s.serialize_str(&v.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        } else {
            s.serialize_str(&timestamp(v))
        }
    }

    /// Reads an RFC 3339 timestamp (what [`serialize`] writes in either form).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| D::Error::custom(format!("invalid timestamp {text:?}: {e}")))
    }
}

/// A float (`f64`) written as JSON's number in the API, and in a snapshot as the decimal text
/// Rust's `Display` writes (the shortest that reads back to the same bits), since serde_json's
/// default number parser is not exact for every float.
pub mod float {
    use super::*;
    /// Writes `v` (a number; a string in a snapshot).
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if storing() {
            s.serialize_str(&v.to_string())
        } else {
            s.serialize_f64(*v)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Number(f64),
    }

    /// Reads a float written by [`serialize`] (a string or a number).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Stored::deserialize(d)? {
            Stored::Number(n) => Ok(n),
            Stored::Text(t) => f64::from_str(&t).map_err(|e| D::Error::custom(format!("invalid number {t:?}: {e}"))),
        }
    }
}

/// Bytes (file contents, never in an API answer) stored as standard base64 with padding.
pub mod bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    /// Writes `v` as base64.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    /// Reads base64 written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(D::Error::custom)
    }
}

/// `v` as the API writes an amount: two decimals (half to even), never `-0.00`.
pub fn decimal_string(v: Decimal) -> String {
    let mut v = v.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    if v.is_zero() {
        v = Decimal::ZERO;
    }
    v.rescale(2);
    v.to_string()
}

/// An amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// The exact amount.
    pub value: Decimal,
    /// ISO 4217: `EUR` or `USD` (`CurrencyEnum`).
    pub currency: Currency,
}

/// The currencies paywise accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Currency {
    /// Euro.
    #[serde(rename = "EUR")]
    Eur,
    /// US dollar.
    #[serde(rename = "USD")]
    Usd,
}

impl Currency {
    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
        }
    }

    /// The currency of an ISO 4217 code paywise accepts.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "EUR" => Some(Currency::Eur),
            "USD" => Some(Currency::Usd),
            _ => None,
        }
    }
}

impl Money {
    /// `value` euros.
    pub fn eur(value: Decimal) -> Self {
        Self {
            value,
            currency: Currency::Eur,
        }
    }

    /// The amount as its `Serialize` writes it (the API form, or the exact one while
    /// [`storing`]).
    fn text(&self) -> String {
        if storing() {
            self.value.to_string()
        } else {
            decimal_string(self.value)
        }
    }

    /// `{"value", "currency"}` as a JSON value, exactly what `serde_json::to_value` makes of it
    /// (which cannot fail for an amount, so this needs no error).
    pub fn to_json(self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("value".into(), serde_json::Value::String(self.text()));
        m.insert(
            "currency".into(),
            serde_json::Value::String(self.currency.code().into()),
        );
        serde_json::Value::Object(m)
    }
}

/// The API form rounds to two decimals (half to even) and never writes `-0.00`; a snapshot
/// ([`storing`]) writes the exact value with its own scale instead, so that it reads back equal.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Money", 2)?;
        st.serialize_field("value", &self.text())?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
    }
}

/// Reads `{"value": "<decimal>", "currency": "EUR"}`: the exact storage form, or the API form.
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            value: String,
            currency: Currency,
        }
        let raw = Stored::deserialize(d)?;
        let mut value = Decimal::from_str(&raw.value)
            .map_err(|e| D::Error::custom(format!("invalid amount {:?}: {e}", raw.value)))?;
        if value.is_zero() && raw.value.trim_start().starts_with('-') {
            // Parsing drops the sign of a zero (`-0.00`, which a negated zero sum writes).
            value.set_sign_negative(true);
        }
        Ok(Money {
            value,
            currency: raw.currency,
        })
    }
}

/// A typed value's API form as JSON, built without a fallible conversion: what
/// `serde_json::to_value` makes of it (outside [`storing`]), for the values the answers are
/// built from. A record renders itself field by field with [`api_object!`], so no answer goes
/// through a conversion whose error would have to be dropped.
pub trait ToJson {
    /// The API form.
    fn to_json(&self) -> serde_json::Value;
}

/// A JSON object of `"key" => value` members in the order given, each value through
/// [`ToJson`] (see there).
macro_rules! api_object {
    ($($key:literal => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = serde_json::Map::new();
        $(m.insert($key.into(), $crate::format::ToJson::to_json(&$value));)*
        serde_json::Value::Object(m)
    }};
}

impl ToJson for serde_json::Value {
    fn to_json(&self) -> serde_json::Value {
        self.clone()
    }
}

impl ToJson for String {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.clone())
    }
}

impl ToJson for str {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.to_string())
    }
}

impl ToJson for bool {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Bool(*self)
    }
}

impl ToJson for u64 {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::from(*self)
    }
}

/// A finite float is a JSON number; NaN and the infinities are `null`, as serde_json writes them.
impl ToJson for f64 {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::from(*self)
    }
}

impl ToJson for uuid::Uuid {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.to_string())
    }
}

/// `YYYY-MM-DD`, as chrono's serde writes a date.
impl ToJson for chrono::NaiveDate {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.to_string())
    }
}

/// DRF's form ([`timestamp`]), as [`ts`] writes it.
impl ToJson for DateTime<Utc> {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(timestamp(self))
    }
}

impl ToJson for Money {
    fn to_json(&self) -> serde_json::Value {
        Money::to_json(*self)
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn to_json(&self) -> serde_json::Value {
        (**self).to_json()
    }
}

impl<T: ToJson + ?Sized> ToJson for Box<T> {
    fn to_json(&self) -> serde_json::Value {
        (**self).to_json()
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> serde_json::Value {
        self.as_ref().map_or(serde_json::Value::Null, ToJson::to_json)
    }
}

impl<T: ToJson> ToJson for [T] {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.iter().map(ToJson::to_json).collect())
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> serde_json::Value {
        self.as_slice().to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_money_has_no_sign() {
        let v = serde_json::to_value(Money::eur(-Decimal::new(0, 2))).expect("money serializes");
        assert_eq!(v["value"], "0.00");
        let v = serde_json::to_value(Money::eur(Decimal::new(-5, 3))).expect("money serializes");
        assert_eq!(v["value"], "0.00", "rounded to zero is zero too");
    }

    #[test]
    fn drf_timestamps() {
        let t = DateTime::parse_from_rfc3339("2023-11-07T05:31:56Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(timestamp(&t), "2023-11-07T05:31:56Z");
        let t = DateTime::parse_from_rfc3339("2023-11-07T05:31:56.1234567Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(timestamp(&micros(t)), "2023-11-07T05:31:56.123456Z");
    }

    #[test]
    fn storage_forms_are_exact() {
        for raw in ["12.5", "12.505", "0.00", "0", "-3.14159", "1000000.000001"] {
            let m = Money::eur(Decimal::from_str(raw).expect("decimal"));
            let stored = mock_core::snapshot::to_value(&m).expect("serializes");
            assert_eq!(stored["value"], raw, "the exact value and scale");
            let back: Money = serde_json::from_value(stored).expect("loads");
            assert_eq!(format!("{back:?}"), format!("{m:?}"), "{raw}");
            assert_eq!(back.value.serialize(), m.value.serialize(), "{raw}: the same bits");
        }
        let negative_zero = Money::eur(-Decimal::new(0, 2));
        assert!(negative_zero.value.is_sign_negative());
        let stored = mock_core::snapshot::to_value(&negative_zero).expect("serializes");
        assert_eq!(stored["value"], "-0.00");
        let back: Money = serde_json::from_value(stored).expect("loads");
        assert_eq!(
            back.value.serialize(),
            negative_zero.value.serialize(),
            "the sign of zero is kept"
        );
        let api: Money =
            serde_json::from_value(serde_json::json!({"value": "12.50", "currency": "USD"})).expect("loads");
        assert_eq!(
            api,
            Money {
                value: Decimal::new(1250, 2),
                currency: Currency::Usd
            }
        );

        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct T {
            #[serde(with = "ts")]
            at: DateTime<Utc>,
            #[serde(with = "float")]
            q: f64,
            #[serde(with = "bytes")]
            b: Vec<u8>,
        }
        let t = T {
            at: DateTime::parse_from_rfc3339("2023-11-07T05:31:56.123456789Z")
                .expect("valid")
                .with_timezone(&Utc),
            q: 0.1 + 0.2,
            b: vec![0, 1, 255],
        };
        let api = serde_json::to_value(&t).expect("serializes");
        assert_eq!(api["at"], "2023-11-07T05:31:56.123456Z");
        assert_eq!(api["q"], serde_json::json!(0.30000000000000004));
        let stored = mock_core::snapshot::to_vec(&t).expect("serializes");
        let back: T = serde_json::from_slice(&stored).expect("loads");
        assert_eq!(back, t);
        assert_eq!(back.q.to_bits(), t.q.to_bits());
        let from_api: T = serde_json::from_value(api).expect("the API form loads too");
        assert_eq!(from_api.at, micros(t.at));
    }

    #[test]
    fn money_has_two_decimals() {
        let m = Money::eur(Decimal::new(125, 1));
        assert_eq!(
            serde_json::to_value(m).expect("serializes"),
            serde_json::json!({"value":"12.50","currency":"EUR"})
        );
    }
}
