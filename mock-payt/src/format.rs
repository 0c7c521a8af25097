//! How Payt writes ids, money and timestamps, and how a snapshot reads them back.
//!
//! - Ids are JSON strings (`"123"`), as the spec types them and its examples show.
//! - Money is a string with exactly two decimals (`"5182.00"`).
//! - Timestamps are UTC ISO 8601 with seconds and `Z` (`2023-11-07T05:31:56Z`), dates `YYYY-MM-DD`.
//!
//! Every module here has a `deserialize` half that reads what its `serialize` half writes, so a
//! record's storage form ([`mock_core::snapshot`]) loads back unchanged. Two of them write more
//! in the storage form than in an answer, since the answer is lossy:
//!
//! - money is written with its own scale (`"40"`, `"12.345"`) rather than rounded to two
//!   decimals, so a stored `Decimal` keeps its exact value and scale;
//! - timestamps carry their sub-second digits, if any (the mock stores whole seconds, see
//!   [`whole_seconds`], so the two forms are the same text in practice).
//!
//! Ids are also read from JSON integers, and money from JSON numbers, as the
//! `integer_ids.rs` form writes them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use mock_core::snapshot::storing;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serializer;
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A stored text field that is mostly absent or shared by many records (an invoice's
/// `description`, a debtor's e-mail addresses): [`arcstr::ArcStr`], one pointer where a `String`
/// takes three, so an absent one (`Option<Text>`) costs 8 bytes instead of 24, and a clone or a
/// literal ([`arcstr::literal!`]) allocates nothing. It serializes, deserializes and prints
/// (`Debug`) as the string, so the answers and the storage form are a `String`'s.
pub type Text = arcstr::ArcStr;

/// An id read from a JSON string (`"123"`) or a non-negative integer.
struct Id(u64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id as a string of digits or an integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                v.parse().map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V).map(Id)
    }
}

/// A decimal read from a JSON string (exact, scale kept) or a JSON number.
struct Exact(Decimal);

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal as a string or a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal::from(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal::from(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                Decimal::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Float(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                Decimal::from_str(v)
                    .or_else(|_| Decimal::from_scientific(v))
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V).map(Exact)
    }
}

/// Reads a decimal written as a string (exactly, keeping its scale) or as a JSON number.
pub(crate) fn deserialize_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    Exact::deserialize(d).map(|e| e.0)
}

/// A timestamp read from RFC 3339 text.
fn parse_ts<E: de::Error>(s: &str) -> Result<DateTime<Utc>, E> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| E::invalid_value(de::Unexpected::Str(s), &"an RFC 3339 timestamp"))
}

/// Serializes an id as a string.
pub mod id {
    use super::*;
    /// Writes `v` as a JSON string.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    /// Reads an id written as a string (or an integer).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Id::deserialize(d).map(|i| i.0)
    }
}

/// Serializes an optional id as a string or `null`.
pub mod opt_id {
    use super::*;
    /// Writes `v` as a JSON string or `null`.
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
    /// Reads an id written as a string (or an integer), or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Option::<Id>::deserialize(d).map(|o| o.map(|i| i.0))
    }
}

/// Serializes money as a two-decimal string (its exact value in the storage form).
pub mod money {
    use super::*;
    /// Writes `v` with exactly two decimals; a snapshot gets `v` as it is.
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        if storing() {
            s.collect_str(v)
        } else {
            s.collect_str(&two_decimals(*v))
        }
    }
    /// Reads money written as a string (or a number).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        deserialize_decimal(d)
    }
}

/// Serializes optional money as a two-decimal string or `null` (exact in the storage form).
pub mod opt_money {
    use super::*;
    /// Writes `v` with exactly two decimals, or `null`; a snapshot gets `v` as it is.
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::money::serialize(v, s),
            None => s.serialize_none(),
        }
    }
    /// Reads money written as a string (or a number), or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<Exact>::deserialize(d).map(|o| o.map(|e| e.0))
    }
}

/// Serializes a timestamp as `YYYY-MM-DDTHH:MM:SSZ`.
pub mod ts {
    use super::*;
    /// Writes `v` in Payt's timestamp format (with sub-second digits, if any, in a snapshot).
    pub fn serialize<S: Serializer>(v: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        write_timestamp(v, s)
    }
    /// Reads an RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        parse_ts(&String::deserialize(d)?)
    }
}

/// Serializes an optional timestamp, `null` when unset.
pub mod opt_ts {
    use super::*;
    /// Writes `v` in Payt's timestamp format, or `null` (sub-seconds kept in a snapshot).
    pub fn serialize<S: Serializer>(v: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => write_timestamp(v, s),
            None => s.serialize_none(),
        }
    }
    /// Reads an RFC 3339 timestamp or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?.map(|s| parse_ts(&s)).transpose()
    }
}

/// `v` rounded half away from zero to two decimals, always showing both.
pub(crate) fn two_decimals(v: Decimal) -> Decimal {
    let mut r = v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// `v` as Payt writes timestamps.
pub fn timestamp(v: &DateTime<Utc>) -> String {
    v.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serializes `v` as [`stored_timestamp`] does, without building a `String` for the common case
/// (an answer, a year of four digits): a page of invoices writes thousands of them.
fn write_timestamp<S: Serializer>(v: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    use chrono::{Datelike, Timelike};
    let year = v.year();
    if storing() || !(0..=9999).contains(&year) {
        return s.serialize_str(&stored_timestamp(v));
    }
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, n: u32, digits: usize| {
        let mut n = n;
        for i in (0..digits).rev() {
            out[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, year.unsigned_abs(), 4);
    put(5, v.month(), 2);
    put(8, v.day(), 2);
    put(11, v.hour(), 2);
    put(14, v.minute(), 2);
    // A leap second (`:60`) as chrono writes it.
    put(17, v.second() + v.nanosecond() / 1_000_000_000, 2);
    // Only ASCII digits and separators were written.
    s.serialize_str(std::str::from_utf8(&out).map_err(serde::ser::Error::custom)?)
}

/// `v` as [`timestamp`] writes it in an answer; in a snapshot with its sub-second digits, if any
/// (the same text for the whole seconds the mock stores).
fn stored_timestamp(v: &DateTime<Utc>) -> String {
    if storing() {
        v.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    } else {
        timestamp(v)
    }
}

/// A stored Payt timestamp: whole seconds since the Unix epoch in 8 bytes, where a
/// `DateTime<Utc>` takes 12 (and so does its `Option`; an `Option<Stamp>` stays 8). Every
/// timestamp the mock writes is whole seconds ([`whole_seconds`]: the clock's reading, a
/// request's timestamps, the time-driven rules), so a stamp holds it exactly; one read from a
/// snapshot with sub-second digits keeps its whole seconds. An invoice has 26 optional stage
/// timestamps, which is why they are stamps. It serializes and deserializes as a timestamp
/// (`2023-11-07T05:31:56Z`), and orders as the moments do.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(std::num::NonZeroI64);

impl Stamp {
    /// Seconds are kept shifted by this, so that the encoding is never zero (the `Option`'s
    /// niche) and keeps the order: chrono's range is about 8.3e12 seconds either side of 1970.
    const SHIFT: i64 = 1 << 62;

    /// `at`, its sub-second digits dropped.
    pub fn new(at: DateTime<Utc>) -> Self {
        let shifted = at.timestamp() - Self::SHIFT;
        // Never zero: `shifted` is below -2^62 + 8.3e12.
        Stamp(std::num::NonZeroI64::new(shifted).unwrap_or(std::num::NonZeroI64::MIN))
    }

    /// The moment.
    pub fn at(self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0.get() + Self::SHIFT, 0).unwrap_or_default()
    }
}

impl From<DateTime<Utc>> for Stamp {
    fn from(at: DateTime<Utc>) -> Self {
        Stamp::new(at)
    }
}

impl From<Stamp> for DateTime<Utc> {
    fn from(s: Stamp) -> Self {
        s.at()
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.at(), f)
    }
}

impl serde::Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_timestamp(&self.at(), s)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_ts(&String::deserialize(d)?).map(Stamp::new)
    }
}

/// A property an answer derives from other records or from other fields (an invoice's
/// `debtor_number` from its debtor, `credit_case_id` from `active_credit_case_id`), kept in the
/// record only for its place among the properties. It takes no space; an answer writes the
/// derived value in its place (the overrides of a read, as
/// [`Invoice::view_overrides`](crate::resources::invoices::Invoice::view_overrides) gives
/// them), a snapshot leaves it out ([`Derived::in_snapshot`]) and reading one ignores whatever
/// stands there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Derived;

impl Derived {
    /// `skip_serializing_if`: a snapshot does not store it.
    pub fn in_snapshot(&self) -> bool {
        storing()
    }
}

impl serde::Serialize for Derived {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

impl<'de> Deserialize<'de> for Derived {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::IgnoredAny::deserialize(d).map(|_| Derived)
    }
}

/// The moment of an optional stamp.
pub fn at(s: Option<Stamp>) -> Option<DateTime<Utc>> {
    s.map(Stamp::at)
}

/// An optional moment as a stamp.
pub fn stamp(at: Option<DateTime<Utc>>) -> Option<Stamp> {
    at.map(Stamp::new)
}

/// `now` truncated to whole seconds, which is all Payt's timestamps carry.
pub fn whole_seconds(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        let cases = [
            "2023-11-07T05:31:56Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999Z",
            "2026-03-01T09:05:07.5Z",
            "1999-12-31T23:59:60Z",
        ];
        for raw in cases {
            let t = DateTime::parse_from_rfc3339(raw).expect(raw).with_timezone(&Utc);
            let mut direct = Vec::new();
            write_timestamp(&t, &mut serde_json::Serializer::new(&mut direct)).expect("writes");
            let via_chrono = serde_json::to_vec(&timestamp(&t)).expect("writes");
            assert_eq!(
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&via_chrono),
                "{raw}"
            );
        }
        let far = DateTime::from_timestamp(300_000_000_000, 0).expect("year 11476");
        let mut direct = Vec::new();
        write_timestamp(&far, &mut serde_json::Serializer::new(&mut direct)).expect("writes");
        assert_eq!(direct, serde_json::to_vec(&timestamp(&far)).expect("writes"));
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(two_decimals(Decimal::new(1000, 0)).to_string(), "1000.00");
        assert_eq!(two_decimals(Decimal::new(-6005, 1)).to_string(), "-600.50");
        assert_eq!(two_decimals(Decimal::new(12345, 3)).to_string(), "12.35");
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Row {
        #[serde(with = "id")]
        id: u64,
        #[serde(with = "opt_id")]
        other: Option<u64>,
        #[serde(with = "money")]
        amount: Decimal,
        #[serde(with = "opt_money")]
        limit: Option<Decimal>,
        #[serde(with = "ts")]
        at: DateTime<Utc>,
        #[serde(with = "opt_ts")]
        until: Option<DateTime<Utc>>,
    }

    #[test]
    fn every_format_reads_back_what_it_writes() {
        let at = DateTime::parse_from_rfc3339("2023-11-07T05:31:56.789Z")
            .expect("valid")
            .with_timezone(&Utc);
        let row = Row {
            id: 7,
            other: None,
            amount: Decimal::new(12345, 3),
            limit: Some(Decimal::from(500)),
            at: whole_seconds(at),
            until: Some(at),
        };
        let api = serde_json::to_value(&row).expect("json");
        assert_eq!(
            api,
            serde_json::json!({"id": "7", "other": null, "amount": "12.35", "limit": "500.00",
                               "at": "2023-11-07T05:31:56Z", "until": "2023-11-07T05:31:56Z"})
        );
        let stored = mock_core::snapshot::to_value(&row).expect("json");
        assert_eq!(
            stored,
            serde_json::json!({"id": "7", "other": null, "amount": "12.345", "limit": "500",
                               "at": "2023-11-07T05:31:56Z", "until": "2023-11-07T05:31:56.789Z"})
        );
        let back: Row = serde_json::from_value(stored).expect("loads");
        assert_eq!(back, row);
        assert_eq!((back.amount.scale(), back.limit.map(|l| l.scale())), (3, Some(0)));
        // The integer-id form and JSON numbers read too.
        let ints = serde_json::json!({"id": 7, "other": 9, "amount": 1.5, "limit": 2,
                                      "at": "2023-11-07T05:31:56Z", "until": null});
        let r: Row = serde_json::from_value(ints).expect("loads");
        assert_eq!(
            (r.id, r.other, r.amount, r.limit, r.until),
            (7, Some(9), Decimal::new(15, 1), Some(Decimal::from(2)), None)
        );
        assert!(serde_json::from_value::<Row>(serde_json::json!({"id": "x"})).is_err());
    }

    #[test]
    fn timestamps_have_seconds_and_z() {
        let t = DateTime::parse_from_rfc3339("2023-11-07T05:31:56.789+00:00")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(timestamp(&whole_seconds(t)), "2023-11-07T05:31:56Z");
    }
}
