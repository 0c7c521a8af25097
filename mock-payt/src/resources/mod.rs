//! One module per Payt resource: its record type (serialized exactly as the spec's entity), its
//! opt-in fields and its routes.

/// Implements [`mock_core::Record`] for a record scoped by its `administration_id` and keyed and
/// ordered by its numeric `id`, which is what every Payt record but administrations is.
/// The key is the id's decimal text, so the store keeps no key index for these tables
/// ([`mock_core::Record::KEY_IS_SEQ`]). `changed = field` names the timestamp `updated_after` (or `deleted_after`) reads it by;
/// `lookups = |r| ...` the secondary keys it is found by (the store keeps both orders, so a
/// page filtered by them reads no other record); `unique = &[...]` those of them that are a
/// business key, unique within the administration ([`mock_core::Record::UNIQUE`]).
macro_rules! administration_record {
    ($t:ty $(, changed = $changed:ident)? $(, lookups = $lookups:expr)? $(, unique = $unique:expr)?) => {
        impl mock_core::Record for $t {
            type Scope = u64;
            const KEY_IS_SEQ: bool = true;
            $(const UNIQUE: &'static [&'static str] = $unique;)?
            fn scope(&self) -> u64 {
                self.administration_id
            }
            fn seq(&self) -> u64 {
                self.id
            }
            fn key(&self) -> String {
                self.id.to_string()
            }
            $(fn changed(&self) -> Option<chrono::DateTime<chrono::Utc>> {
                Some(self.$changed)
            })?
            $(fn lookups(&self) -> Vec<(&'static str, String)> {
                let lookups: fn(&$t) -> Vec<(&'static str, String)> = $lookups;
                lookups(self)
            })?
        }
    };
}

/// Implements [`crate::list::Tombstone`] for the tombstone of a deleted record whose `deleted_at`
/// is when it was deleted (every tombstone the `.../deleted` endpoints list).
macro_rules! tombstone {
    ($t:ty) => {
        impl crate::list::Tombstone for $t {
            fn deleted_at(&self) -> chrono::DateTime<chrono::Utc> {
                self.deleted_at
            }
        }
    };
}

pub mod administrations;
pub mod companies;
pub mod contacts;
pub mod credit_cases;
pub mod debtors;
pub mod files;
pub mod invoices;
pub mod messages;
pub mod notes;
pub mod notifications;
pub mod orders;
pub mod payment_conditions;
pub mod payment_plans;
pub mod payments;
pub mod psp_mandates;
pub mod psp_transactions;
pub mod sign_up;
pub mod tasks;
pub mod vat_rates;

use serde::{Deserialize, Serialize};

/// `CustomerApi_V1_UserEntity`: a Payt user who acted on a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Name.
    pub name: String,
    /// Email address.
    pub email_address: String,
}

/// `CustomerApi_V1_LabelEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Label name.
    pub name: String,
}
