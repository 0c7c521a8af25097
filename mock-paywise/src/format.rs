//! How paywise writes timestamps, dates and money.
//!
//! Timestamps are DRF's ISO 8601 output: UTC with `Z`, and microseconds only when they are not
//! zero (`2023-11-07T05:31:56Z`, `2023-11-07T05:31:56.123456Z`). Dates are `YYYY-MM-DD`. Money is
//! `{"value": "12.50", "currency": "EUR"}` with the value an exact two-decimal string.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Serialize, Serializer};

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
    /// Writes `v` as DRF does.
    pub fn serialize<S: Serializer>(v: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&timestamp(v))
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Currency {
    /// Euro.
    #[serde(rename = "EUR")]
    Eur,
    /// US dollar.
    #[serde(rename = "USD")]
    Usd,
}

impl Currency {
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
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut v = self
            .value
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
        if v.is_zero() {
            // A negated zero sum is still zero: never "-0.00".
            v = Decimal::ZERO;
        }
        v.rescale(2);
        let mut st = s.serialize_struct("Money", 2)?;
        st.serialize_field("value", &v.to_string())?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
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
    fn money_has_two_decimals() {
        let m = Money::eur(Decimal::new(125, 1));
        assert_eq!(
            serde_json::to_value(m).expect("serializes"),
            serde_json::json!({"value":"12.50","currency":"EUR"})
        );
    }
}
