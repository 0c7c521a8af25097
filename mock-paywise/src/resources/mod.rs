//! One module per paywise resource: its record type, its validation and its routes.

/// Implements [`mock_core::Record`] for a record with a `seq`, a `scope` and a UUID `id`, which is
/// what every paywise record is. `lookups = |r| ...` names its secondary keys (see
/// [`mock_core::Record::lookups`]): a list filtered by one reads only the records under it;
/// `unique = &[...]` those of them that are business keys, unique within the scope (see
/// [`mock_core::Record::UNIQUE`]: the store refuses a second record with the same value).
/// `scoped_record!(T, scope: S = field)` scopes by another field (the Partner records' `account`).
macro_rules! scoped_record {
    ($t:ty, scope: $scope:ty = $field:ident $(, lookups = $lookups:expr)? $(, unique = $unique:expr)?) => {
        impl mock_core::Record for $t {
            type Scope = $scope;
            $(const UNIQUE: &'static [&'static str] = $unique;)?
            fn scope(&self) -> $scope {
                self.$field
            }
            fn seq(&self) -> u64 {
                self.seq
            }
            fn key(&self) -> String {
                self.id.to_string()
            }
            $(fn lookups(&self) -> Vec<(&'static str, String)> {
                let lookups: fn(&$t) -> Vec<(&'static str, String)> = $lookups;
                lookups(self)
            })?
        }
    };
    ($t:ty $(, lookups = $lookups:expr)? $(, unique = $unique:expr)?) => {
        scoped_record!($t, scope: crate::state::Scope = scope $(, lookups = $lookups)? $(, unique = $unique)?);
    };
}

pub(crate) mod backoffice;
pub mod claims;
pub(crate) mod debtors;
pub(crate) mod files;
pub(crate) mod info;
pub mod mandates;
pub mod partner;
pub(crate) mod payments;
pub(crate) mod requests_to_client;
pub(crate) mod statements;
pub mod webhooks;

/// ISO 3166-1 alpha-2 country codes, the choices of an address's `country`.
pub(crate) const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `code` is an ISO 3166-1 alpha-2 code.
pub(crate) fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}
