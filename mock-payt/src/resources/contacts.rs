//! Contacts: `GET /v1/contacts` and the bulk upsert `POST /v1/contacts`.
//!
//! A contact is the person (and the addresses) a creditor deals with for one or more debtors.
//! Debtors point at a contact with `contact_identifier` (`POST /v1/debtors`); the contact entity
//! lists the numbers of those debtors in `debtor_numbers`, computed when read.
//!
//! The upsert matches by internal `id` (which must exist), then by `contact_identifier`, and
//! creates a contact otherwise. Given keys are written, omitted keys stay. A malformed e-mail
//! address or country code does not stop the record: it is stored, named in the contact's
//! `validation_errors` (`{"invoice_email_address": ["is invalid"]}`) and reported as a warning. A
//! `gender` outside `female`/`male`/`male_female`, a malformed `birth_date`, an unknown `id` or a
//! `contact_identifier` that belongs to another contact rejects the record. Debtors linked to a
//! changed contact take its addresses and phone numbers, and their `updated_at` moves.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use mock_core::store::CursorPage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::body::{Body, Given, Problems, given, is_email, opt_date, opt_str};
use crate::bulk::Upsert;
use crate::error::PaytError;
use crate::list::{self, ListRequest};
use crate::params::{parse_id, string_list};
use crate::resources::administrations::is_country_code;
use crate::resources::debtors::{self, apply_contact};
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};

/// Properties shown only when `fields` asks for them (none for contacts).
pub const OPT_IN: &[&str] = &[];

/// `CustomerApi_V1_ContactEntity`, in the spec's property order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// External code from the accounting software.
    pub contact_identifier: Option<String>,
    /// Phone number for calls.
    pub call_phone_number: Option<String>,
    /// Numbers of the debtors linked to the contact (filled in when read).
    pub debtor_numbers: Vec<String>,
    /// Default e-mail address.
    pub default_email_address: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// `female`, `male` or `male_female`.
    pub gender: Option<String>,
    /// Name infix (`van der`).
    pub infix: Option<String>,
    /// Invoice address.
    pub invoice_email_address: Option<String>,
    /// Invoice CC.
    pub invoice_cc_email_address: Option<String>,
    /// Invoice BCC.
    pub invoice_bcc_email_address: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Middle name.
    pub middlename: Option<String>,
    /// Street line 1.
    pub postal_address_street_1: Option<String>,
    /// Street line 2.
    pub postal_address_street_2: Option<String>,
    /// Postal code.
    pub postal_address_postal_code: Option<String>,
    /// City.
    pub postal_address_city: Option<String>,
    /// ISO 3166 alpha-2.
    pub postal_address_country_code: Option<String>,
    /// Region.
    pub postal_address_region: Option<String>,
    /// Name prefix (`dhr.`, `mevr.`).
    pub prefix: Option<String>,
    /// Reminder address.
    pub reminder_email_address: Option<String>,
    /// Reminder CC.
    pub reminder_cc_email_address: Option<String>,
    /// Reminder BCC.
    pub reminder_bcc_email_address: Option<String>,
    /// Phone number for SMS.
    pub sms_phone_number: Option<String>,
    /// Properties whose stored value is invalid, with the reasons.
    pub validation_errors: BTreeMap<String, Vec<String>>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// Owning administration (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub administration_id: u64,
    /// Birth date (write-only).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub birth_date: Option<NaiveDate>,
}

administration_record!(
    Contact,
    changed = updated_at,
    lookups = |c| c
        .contact_identifier
        .clone()
        .map(|i| ("identifier", i))
        .into_iter()
        .collect()
);

/// The plain string properties of the request, in the request schema's order.
const STRING_KEYS: [&str; 21] = [
    "call_phone_number",
    "default_email_address",
    "firstname",
    "gender",
    "infix",
    "invoice_email_address",
    "invoice_cc_email_address",
    "invoice_bcc_email_address",
    "lastname",
    "middlename",
    "postal_address_street_1",
    "postal_address_street_2",
    "postal_address_postal_code",
    "postal_address_city",
    "postal_address_country_code",
    "postal_address_region",
    "prefix",
    "reminder_email_address",
    "reminder_cc_email_address",
    "reminder_bcc_email_address",
    "sms_phone_number",
];

/// The e-mail properties, checked into `validation_errors`.
const EMAIL_KEYS: [&str; 7] = [
    "default_email_address",
    "invoice_email_address",
    "invoice_cc_email_address",
    "invoice_bcc_email_address",
    "reminder_email_address",
    "reminder_cc_email_address",
    "reminder_bcc_email_address",
];

/// The genders the spec means (its enum is malformed: an array nested in the array).
pub(crate) const GENDERS: [&str; 3] = ["female", "male", "male_female"];

impl Contact {
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "contact_identifier" => &mut self.contact_identifier,
            "call_phone_number" => &mut self.call_phone_number,
            "default_email_address" => &mut self.default_email_address,
            "firstname" => &mut self.firstname,
            "gender" => &mut self.gender,
            "infix" => &mut self.infix,
            "invoice_email_address" => &mut self.invoice_email_address,
            "invoice_cc_email_address" => &mut self.invoice_cc_email_address,
            "invoice_bcc_email_address" => &mut self.invoice_bcc_email_address,
            "lastname" => &mut self.lastname,
            "middlename" => &mut self.middlename,
            "postal_address_street_1" => &mut self.postal_address_street_1,
            "postal_address_street_2" => &mut self.postal_address_street_2,
            "postal_address_postal_code" => &mut self.postal_address_postal_code,
            "postal_address_city" => &mut self.postal_address_city,
            "postal_address_country_code" => &mut self.postal_address_country_code,
            "postal_address_region" => &mut self.postal_address_region,
            "prefix" => &mut self.prefix,
            "reminder_email_address" => &mut self.reminder_email_address,
            "reminder_cc_email_address" => &mut self.reminder_cc_email_address,
            "reminder_bcc_email_address" => &mut self.reminder_bcc_email_address,
            "sms_phone_number" => &mut self.sms_phone_number,
            _ => return None,
        })
    }

    /// Recomputes `validation_errors` from the stored values.
    fn revalidate(&mut self) {
        let mut errors = BTreeMap::new();
        for key in EMAIL_KEYS {
            if let Some(Some(v)) = self.slot(key).map(|s| s.clone())
                && !is_email(&v)
            {
                errors.insert(key.to_string(), vec!["is invalid".to_string()]);
            }
        }
        if let Some(c) = &self.postal_address_country_code
            && !is_country_code(c)
        {
            errors.insert(
                "postal_address_country_code".to_string(),
                vec!["is not an ISO 3166 alpha-2 country code".to_string()],
            );
        }
        self.validation_errors = errors;
    }
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/contacts", get(list).post(upsert))
}

/// `c` with the numbers of the debtors that have it as their contact, in the debtors' order
/// (read by the debtors' contact key).
fn with_debtor_numbers(db: &Db, c: &Contact) -> Contact {
    let mut c = c.clone();
    c.debtor_numbers = db
        .debtors
        .lookup(&c.administration_id, "contact", &c.id.to_string())
        .map(|d| d.debtor_number.clone())
        .collect();
    c
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "contacts:read")?;
    let identifiers = string_list(&req.query, "contact_identifiers");
    let numbers = string_list(&req.query, "debtor_numbers");
    let page = state.store.read(|db| {
        let admin = req.administration_id;
        // Debtor numbers are a secondary key of debtors: only those debtors are read.
        let by_debtor: Option<Vec<u64>> = numbers.as_ref().map(|n| {
            let mut ids: Vec<u64> = n
                .iter()
                .flat_map(|n| db.debtors.lookup(&admin, "number", n))
                .filter_map(|d| d.contact_id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        let page = req.page_among(&db.contacts, by_debtor.as_deref(), |c| {
            req.common_match(c.id, c.updated_at)
                && identifiers
                    .as_ref()
                    .is_none_or(|i| c.contact_identifier.as_ref().is_some_and(|ci| i.contains(ci)))
                && by_debtor.as_ref().is_none_or(|ids| ids.binary_search(&c.id).is_ok())
        });
        CursorPage {
            items: page.items.iter().map(|c| with_debtor_numbers(db, c)).collect(),
            has_more: page.has_more,
        }
    });
    list::page(page, &req.fields, OPT_IN)
}

/// The bulk key of a contact record: its identifier, else its id, else its position.
/// What one record asks: the values given (`None` clears) and the birth date.
struct Input {
    id: Option<u64>,
    values: Vec<(&'static str, Option<String>)>,
    birth_date: Option<Option<NaiveDate>>,
}

/// Validates one record of the bulk write, collecting every problem: the record's codes in the
/// answer (`invalid_<key>`, `contact_not_found` for an id that cannot be one).
fn validate(r: &Map<String, Value>) -> Result<Input, Vec<String>> {
    let mut problems = Problems::default();
    let mut values = Vec::new();
    let not_an_id = |problems: &mut Problems| {
        problems.own("contact_not_found", "id", "id is not a contact id");
        None
    };
    let id = match r.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => parse_id(s).or_else(|| not_an_id(&mut problems)),
        Some(Value::Number(n)) => n.as_u64().or_else(|| not_an_id(&mut problems)),
        Some(_) => {
            problems.invalid("id", "must be a contact id");
            None
        }
    };
    for key in std::iter::once("contact_identifier").chain(STRING_KEYS) {
        let Some(Given::Set(v)) = problems.take(given(r, key, opt_str)) else {
            continue;
        };
        let v = match (key, v) {
            ("gender", Some(g)) if !GENDERS.contains(&g.as_str()) => {
                problems.invalid(key, &format!("is not one of {}", GENDERS.join(", ")));
                continue;
            }
            ("postal_address_country_code", Some(c)) if is_country_code(&c) => Some(c.to_uppercase()),
            (_, v) => v,
        };
        values.push((key, v));
    }
    let birth_date = match problems.take(given(r, "birth_date", opt_date)) {
        Some(Given::Set(date)) => Some(date),
        Some(Given::Omitted) | None => None,
    };
    problems.into_codes()?;
    Ok(Input { id, values, birth_date })
}

/// Applies one record: the contact (created or updated) and the warnings, or the error codes.
fn apply(
    db: &mut Db,
    state: &AppState,
    admin: u64,
    input: Input,
    now: DateTime<Utc>,
) -> Result<Vec<String>, Vec<String>> {
    let identifier = input
        .values
        .iter()
        .find(|(k, _)| *k == "contact_identifier")
        .and_then(|(_, v)| v.clone());
    let existing = match input.id {
        Some(id) => Some(
            db.contacts
                .get(&admin, &id.to_string())
                .cloned()
                .ok_or_else(|| vec!["contact_not_found".to_string()])?,
        ),
        None => identifier
            .as_ref()
            .and_then(|ci| db.contacts.lookup(&admin, "identifier", ci).next().cloned()),
    };
    if let Some(ci) = &identifier {
        let taken = db
            .contacts
            .lookup(&admin, "identifier", ci)
            .any(|c| existing.as_ref().is_none_or(|e| e.id != c.id));
        if taken {
            return Err(vec!["contact_identifier_taken".to_string()]);
        }
    }
    let mut c = existing.clone().unwrap_or_else(|| Contact {
        id: state.ids.next_seq(),
        administration_id: admin,
        updated_at: now,
        ..Default::default()
    });
    for (key, v) in input.values {
        if let Some(slot) = c.slot(key) {
            *slot = v;
        }
    }
    if let Some(b) = input.birth_date {
        c.birth_date = b;
    }
    c.revalidate();
    let warnings: Vec<String> = c.validation_errors.keys().map(|k| format!("invalid_{k}")).collect();
    match existing {
        None => {
            db.contacts
                .insert(c.clone())
                .map_err(|_| vec!["conflict".to_string()])?;
        }
        Some(before) if before != c => {
            c.updated_at = now;
            let stored = c.clone();
            db.contacts.update(&admin, &c.id.to_string(), |x| *x = stored);
        }
        Some(_) => {}
    }
    // Linked debtors take the contact's addresses and phone numbers.
    let linked: Vec<u64> = db
        .debtors
        .lookup(&admin, "contact", &c.id.to_string())
        .map(|d| d.id)
        .collect();
    for id in linked {
        db.debtors.update(&admin, &id.to_string(), |d| {
            if apply_contact(d, &c) {
                d.updated_at = now;
            }
        });
    }
    Ok(warnings)
}

/// `POST /v1/contacts`: 201 with a `CustomerApi_SuccessEntity` (the spec gives no schema;
/// `reference/payt.md` section 5 row 14).
async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    let now = state.now();
    let outcome = UPSERT.run(&state, &caller, &body, |db, admin, map| {
        validate(map).and_then(|input| apply(db, &state, admin, input, now))
    })?;
    Ok((StatusCode::CREATED, Json(outcome.to_json())))
}

/// The contacts' bulk write: a record is named by its `contact_identifier` or `id`.
const UPSERT: Upsert = Upsert {
    list: "contacts",
    one: "contact",
    names: &["contact_identifier", "id"],
    scope: "contacts:write",
};

fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// Seeds contacts (after [`debtors::seed`] enriched the debtors) for about
/// 60% of them: the contact person of a company debtor, the person of a private one; a few contacts
/// (bookkeepers) are shared by two debtors, and a few carry validation errors.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let debtors: Vec<debtors::Debtor> = db.debtors.iter(&admin).cloned().collect();
    let mut number = g.numbering.contacts + 1;
    let mut last: Option<u64> = None;
    for d in debtors {
        if !g.f.chance(0.6) {
            continue;
        }
        // Now and then a debtor shares the previous contact (one bookkeeper for two accounts).
        if let Some(shared) = last.filter(|_| g.f.chance(0.07)) {
            db.debtors
                .update(&admin, &d.id.to_string(), |x| x.contact_id = Some(shared));
            last = None;
            continue;
        }
        let company = d.is_company.unwrap_or(false);
        let (first, last_name, female) = if company {
            let p = g.f.nl_person();
            let female = p.salutation == "Mevrouw";
            (p.first_name, p.last_name, female)
        } else {
            let (f, l) = d.name.split_once(' ').unwrap_or((d.name.as_str(), ""));
            (f.to_string(), l.to_string(), g.f.chance(0.5))
        };
        let (infix, lastname) = match last_name.rsplit_once(' ') {
            Some((infix, rest)) => (Some(infix.to_string()), rest.to_string()),
            None => (None, last_name.clone()),
        };
        let email = if company {
            d.primary_email_address
                .as_ref()
                .and_then(|e| e.split_once('@'))
                .map(|(_, domain)| format!("{}.{}@{domain}", ascii_slug(&first), ascii_slug(&lastname)))
        } else {
            d.primary_email_address.as_deref().map(str::to_owned)
        };
        let id = g.id();
        let identifier = format!("CP{:06}", admin * 10_000 + number);
        number += 1;
        let broken = g.f.chance(0.05);
        let updated = d.updated_at + Duration::days(g.f.int(0, 20) as i64);
        let anchor = g.f.anchor_at(0);
        let mut c = Contact {
            id,
            contact_identifier: Some(identifier),
            call_phone_number: d.call_phone_number.as_deref().map(str::to_owned),
            debtor_numbers: Vec::new(),
            default_email_address: email.clone(),
            firstname: Some(first),
            gender: Some(if female { "female" } else { "male" }.to_string()),
            infix,
            invoice_email_address: d.invoice_email_address.as_deref().map(str::to_owned).or(email.clone()),
            invoice_cc_email_address: d.invoice_cc_email_address.as_deref().map(str::to_owned),
            invoice_bcc_email_address: None,
            lastname: Some(lastname),
            middlename: None,
            postal_address_street_1: d.postal_address.street_1.as_deref().map(str::to_owned),
            postal_address_street_2: d.postal_address.street_2.as_deref().map(str::to_owned),
            postal_address_postal_code: d.postal_address.postal_code.as_deref().map(str::to_owned),
            postal_address_city: Some(d.postal_address.city.clone()),
            postal_address_country_code: Some(d.postal_address.country_code.to_string()),
            postal_address_region: d.postal_address.region.as_deref().map(str::to_owned),
            prefix: Some(if female { "mevr." } else { "dhr." }.to_string()),
            reminder_email_address: d.reminder_email_address.as_deref().map(str::to_owned).or(email),
            reminder_cc_email_address: broken.then(|| "crediteuren@".to_string()),
            reminder_bcc_email_address: None,
            sms_phone_number: d.sms_phone_number.as_deref().map(str::to_owned),
            validation_errors: BTreeMap::new(),
            updated_at: updated.min(anchor),
            administration_id: admin,
            birth_date: (!company).then(|| g.f.date_around(-25_000, -7_000)),
        };
        c.revalidate();
        // A fixture's id is new (see `seed::put`); a refusal is logged and links nothing.
        match db.contacts.insert(c) {
            Ok(()) => {
                db.debtors
                    .update(&admin, &d.id.to_string(), |x| x.contact_id = Some(id));
                last = Some(id);
            }
            Err(e) => tracing::error!("a fixture contact was not stored: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(record: Value) -> Vec<String> {
        let Value::Object(m) = record else {
            return vec!["not an object".into()];
        };
        validate(&m).err().unwrap_or_default()
    }

    #[test]
    fn a_record_is_refused_with_every_code_it_earns() {
        assert_eq!(codes(json!({"id": "x7"})), ["contact_not_found"]);
        assert_eq!(codes(json!({"id": -3})), ["contact_not_found"]);
        assert_eq!(codes(json!({"id": true})), ["invalid_id"]);
        assert_eq!(
            codes(json!({"id": [1], "gender": "robot", "default_email_address": {}, "birth_date": "1 May"})),
            [
                "invalid_id",
                "invalid_default_email_address",
                "invalid_gender",
                "invalid_birth_date"
            ]
        );
        assert!(codes(json!({"id": " ", "gender": "female", "birth_date": null})).is_empty());
    }
}
