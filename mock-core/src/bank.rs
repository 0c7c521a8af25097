//! Bank account numbers: the one place IBANs are read, on the `iban_validate` crate.
//!
//! Both vendors accept an IBAN with spaces and in any case and keep it compact and upper case.
//! Payt checks the ISO 13616 check digits ([`iban()`]); paywise checks the country's format too
//! ([`iban_of_country_format`]). A BIC is read by its ISO 9362 parts ([`bic()`]); each vendor
//! then checks it against the account's IBAN in its own way.

use iban::{BaseIban, Iban};

/// `raw` without white space, upper case: the form both vendors store.
pub fn compact_iban(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// `raw` in compact form when it is an IBAN in shape (15 to 34 letters and digits, a country code
/// and two check digits first) with valid ISO 13616 check digits; the country's own format is not
/// checked.
pub fn iban(raw: &str) -> Option<String> {
    let compact = compact_iban(raw);
    if !(15..=34).contains(&compact.len()) {
        return None;
    }
    compact.parse::<BaseIban>().ok().map(|_| compact)
}

/// `raw` in compact form when it is a valid IBAN of its country's registered format (length and
/// account layout, as well as the check digits).
pub fn iban_of_country_format(raw: &str) -> Option<String> {
    let compact = compact_iban(raw);
    compact.parse::<Iban>().ok().map(|_| compact)
}

/// A BIC (ISO 9362) by its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bic<'a> {
    /// The institution: four letters.
    pub bank: &'a str,
    /// The country: two letters, as an IBAN's first two.
    pub country: &'a str,
}

/// `bic` (trimmed and upper case, the form both vendors store) read as a BIC of ISO 9362's
/// shape: four letters of institution, two of country, two letters or digits of location and,
/// for an 11-character BIC, three of branch. The parts are not looked up in any directory.
pub fn bic(bic: &str) -> Option<Bic<'_>> {
    let b = bic.as_bytes();
    let shaped = (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    shaped.then(|| Bic {
        bank: &bic[..4],
        country: &bic[4..6],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_and_country_formats() {
        assert_eq!(iban("nl91 abna 0417 1643 00").as_deref(), Some("NL91ABNA0417164300"));
        assert_eq!(iban("NL91ABNA0417164301"), None, "wrong check digits");
        assert_eq!(iban("hello"), None);
        assert_eq!(iban("NL91 ABNA"), None, "too short");
        assert_eq!(iban(&format!("DE{}", "1".repeat(33))), None, "too long");
        // Valid check digits, but the Dutch format has 18 characters: Payt's check takes it.
        let odd = "NL06ABNA04171643001";
        assert!(iban(odd).is_some());
        assert_eq!(iban_of_country_format(odd), None);
        assert_eq!(
            iban_of_country_format("DE89 3704 0044 0532 0130 00").as_deref(),
            Some("DE89370400440532013000")
        );
    }

    #[test]
    fn bics_by_their_parts() {
        assert_eq!(
            bic("DEUTDEFF"),
            Some(Bic {
                bank: "DEUT",
                country: "DE"
            })
        );
        assert_eq!(bic("ABNANL2A").map(|b| b.country), Some("NL"));
        assert_eq!(bic("COBADEFF370").map(|b| b.bank), Some("COBA"));
        for bad in [
            "",
            "DEUTDEF",
            "DEUTDEFF3",
            "DEUTDEFF3700",
            "DEU1DEFF",
            "DEUTD3FF",
            "deutdeff",
            "DEUTDE-F",
            "DEUTDEFFÄÄ",
        ] {
            assert_eq!(bic(bad), None, "{bad}");
        }
    }
}
