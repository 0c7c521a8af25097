//! One module per Payt resource: its record type (serialized exactly as the spec's entity), its
//! opt-in fields and its routes.

pub mod administrations;
pub mod credit_cases;
pub mod debtors;
pub mod invoices;
pub mod notifications;
pub mod payment_plans;

use serde::Serialize;

/// `CustomerApi_V1_UserEntity`: a Payt user who acted on a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    /// Label name.
    pub name: String,
}
