//! Fixture data for the paywise mock: German debtors (people and companies) and claims in every
//! submission state, mostly in test mode with a few in production mode, all placed relative to
//! the anchor date (the mock clock's date at seeding, or the pinned `--anchor-date`), so the same
//! seed and anchor give byte-identical data.
//!
//! [`generate_sized`] takes a `size` as well, how much Case Management data there is
//! ([`generate`] is size 1):
//! - `0`: none. No debtors, claims, mandates (nor their status updates), payments, statements
//!   (nor mandate details), requests to client, files or webhooks; only the fixture partner's
//!   account, empty (no companies, users or invites), which the partner keys name. The fixture
//!   company ([`COMPANY`]) is only a number the tokens carry and needs no record.
//! - `1`: the standard fixtures: 60 debtors in test mode and 8 in production mode with one or two
//!   claims each (every submission state), the mandates, status updates, files, payments and
//!   requests to client of the accepted claims, five monthly statements, and the fixture
//!   partner's two companies, three users and three invites.
//! - `n > 1`: `n` times as many debtors in each mode, with their claims and everything that follows
//!   from those (mandates, payments, requests to client, files), all from the same seed in the same
//!   order, so the data is as deterministic as at size 1. Ids are unique, and so are debtor and
//!   claim references and invoice numbers within their access mode (as at size 1) and mandate file
//!   numbers. The statements stay monthly (five, each with up to three mandates) and the partner's
//!   data stays as at size 1.
//!
//! [`generate_scaled`] adds `scale` lean claims with their debtors and payments to the test mode
//! after all of the above: a large world for measuring the mock (`--scale N`); see [`scale`] for
//! what they are. Scale 0 is exactly the data above.

pub mod scale;
pub mod v2;

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use fixtures::{Faker, shift};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::format::Money;
use crate::resources::claims::{AdditionalCharge, Claim, ClaimPayment, Item, SUBMISSION_STATES};
use crate::resources::debtors::{Address, BankAccount, Channel, Debtor, Organization, Person};
use crate::state::{AccessMode, Db, Scope};

/// The fixture client company.
pub const COMPANY: u64 = 1;

fn uuid(f: &mut Faker) -> Uuid {
    uuid::Builder::from_random_bytes(f.bytes16()).into_uuid()
}

fn at(f: &mut Faker, min_days: i64, max_days: i64) -> DateTime<Utc> {
    let d = f.date_around(min_days, max_days);
    let base = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    base + Duration::seconds(f.int(6 * 3600, 20 * 3600) as i64) + Duration::microseconds(f.int(0, 999_999) as i64)
}

/// The generated database (the standard fixtures, size 1) and the highest sequence number it
/// used.
pub fn generate(seed: u64, anchor: NaiveDate) -> (Db, u64) {
    generate_sized(seed, anchor, 1)
}

/// The generated database with `size` times the standard Case Management data and `scale` lean
/// claims more (see the module docs and [`scale`]) and the highest sequence number it used.
pub fn generate_scaled(seed: u64, anchor: NaiveDate, size: u32, scale: u64) -> (Db, u64) {
    let (mut db, mut seq) = generate_sized(seed, anchor, size);
    scale::seed(&mut db, &mut seq, seed, anchor, scale);
    (db, seq)
}

/// The generated database with `size` times the standard Case Management data (see the module
/// docs) and the highest sequence number it used.
pub fn generate_sized(seed: u64, anchor: NaiveDate, size: u32) -> (Db, u64) {
    let mut db = Db::default();
    crate::resources::partner::seed_fixture_account(&mut db, seed, anchor, size > 0);
    if size == 0 {
        return (db, 0);
    }
    let size = u64::from(size);
    let mut f = Faker::new(seed ^ 0xdead_beef, anchor);
    let mut seq = 0u64;
    // Mandate file numbers drawn so far: above size 1 a number drawn twice moves up by 90 000
    // until it is new (at size 1 nothing is moved, so the data stays as it always was).
    let mut mandate_numbers = HashSet::new();
    for (mode, debtors, claims_per) in [(AccessMode::Test, 60 * size, 2), (AccessMode::Production, 8 * size, 1)] {
        let scope = Scope { company: COMPANY, mode };
        let mut made = Vec::new();
        for i in 0..debtors {
            seq += 1;
            let business = f.chance(0.45);
            let created = at(&mut f, -300, -20);
            let (person, organization, address, email, phone, iban) = if business {
                let c = f.de_company();
                (
                    None,
                    Some(Organization { name: c.name }),
                    c.address,
                    c.email,
                    c.phone,
                    c.iban,
                )
            } else {
                let p = f.de_person();
                let person = Person {
                    salutation: Some(p.salutation),
                    first_name: Some(p.first_name),
                    last_name: p.last_name,
                    birth_date: Some(p.birth_date),
                    death_date: None,
                };
                (Some(person), None, p.address, p.email, p.phone, p.iban)
            };
            let d = Debtor {
                seq,
                scope,
                id: uuid(&mut f),
                your_reference: Some(format!("KD-{}", 20_000 + i)),
                acting_as: if business { "business" } else { "consumer" }.into(),
                person,
                organization,
                addresses: vec![Address {
                    street: Some(format!("{} {}", address.street, address.house_number)),
                    zip: Some(address.postal_code),
                    city: Some(address.city),
                    country: address.country_code,
                }],
                communication_channels: vec![
                    Channel {
                        kind: "email".into(),
                        value: email,
                    },
                    Channel {
                        kind: if business { "phone" } else { "mobile_phone" }.into(),
                        value: phone,
                    },
                ],
                bank_accounts: if f.chance(0.6) {
                    vec![BankAccount { iban, bic: None }]
                } else {
                    Vec::new()
                },
                metadata: vec![json!({"type": "user:reference", "value": format!("crm-{}", f.int(10_000, 99_999))})],
                events: Vec::new(),
                created,
                updated: created,
                v2: None,
            };
            made.push(d.clone());
            let _ = db.debtors.insert(d);
        }
        let mut invoice = 1u64;
        for d in &made {
            for _ in 0..f.int(1, claims_per) {
                seq += 1;
                let state = *f.pick(SUBMISSION_STATES);
                let document_date = f.date_around(-200, -30);
                let due_date = shift(document_date, 14);
                let reminder_date = shift(due_date, 14);
                let main = f.amount(80, 4_800);
                let fee = f.chance(0.6).then(|| Decimal::new(500 + 100 * f.int(0, 10) as i64, 2));
                let paid = f.chance(0.2).then(|| (main / Decimal::from(4)).round_dp(2));
                let created = at(&mut f, -25, -2);
                let charges: Vec<AdditionalCharge> = fee
                    .map(|fee| AdditionalCharge {
                        id: uuid(&mut f),
                        kind: Some("reminder_fee".into()),
                        your_reference: None,
                        subject_matter: Some("Mahngebühr".into()),
                        occurence_date: Some(reminder_date),
                        document_date: Some(reminder_date),
                        due_date: Some(shift(reminder_date, 10)),
                        amount: Money::eur(fee),
                        metadata: Vec::new(),
                        events: Vec::new(),
                    })
                    .into_iter()
                    .collect();
                let payments: Vec<ClaimPayment> = paid
                    .map(|p| ClaimPayment {
                        id: uuid(&mut f),
                        your_reference: Some(format!("ZE-{}", f.int(100_000, 999_999))),
                        amount: Money::eur(p),
                        value_date: shift(due_date, 20),
                        metadata: Vec::new(),
                        created,
                    })
                    .into_iter()
                    .collect();
                let charges_sum: Decimal = charges.iter().map(|c| c.amount.value).sum();
                let paid_sum: Decimal = payments.iter().map(|p| p.amount.value).sum();
                let id = uuid(&mut f);
                let reference = format!("RE-{}-{:05}", f.anchor().format("%Y"), invoice);
                let mandate = (state == "accepted").then(|| {
                    let id = uuid(&mut f).to_string();
                    let mut number = f.int(10_000, 99_999);
                    while size > 1 && !mandate_numbers.insert(number) {
                        number += 90_000;
                    }
                    json!({"id": id, "reference_number": format!("K{}-{}", f.anchor().format("%y"), number)})
                });
                let c = Claim {
                    seq,
                    scope,
                    id,
                    submission_state: state.into(),
                    debtor: d.id,
                    mandate,
                    your_reference: Some(format!("FO-{}", 50_000 + seq)),
                    subject_matter: Some(
                        f.pick(&[
                            "Softwarelizenz",
                            "Wartungsvertrag",
                            "Warenlieferung",
                            "Beratungsleistung",
                            "Mitgliedsbeitrag",
                        ])
                        .to_string(),
                    ),
                    occurence_date: Some(shift(document_date, -5)),
                    document_reference: Some(reference.clone()),
                    document_date: Some(document_date),
                    due_date: Some(due_date),
                    reminder_date: Some(reminder_date),
                    delay_date: Some(shift(due_date, 1)),
                    total_claim_amount: Money::eur(main + charges_sum - paid_sum),
                    main_claim_amount: Money::eur(main),
                    items: vec![Item {
                        description: "Rechnungsbetrag".into(),
                        quantity: 1.0,
                        unit: Some("Stück".into()),
                        amount: Money::eur(main),
                    }],
                    additional_charges_amount: Money::eur(charges_sum),
                    additional_charges: charges,
                    payments,
                    starting_approach: if f.chance(0.85) { "extrajudicial" } else { "judicial" }.into(),
                    claim_disputed: f.chance(0.1),
                    obligation_fulfilled: true,
                    documents: vec![
                        json!({"id": uuid(&mut f).to_string(), "mime_type": "application/pdf", "filename": format!("{reference}.pdf")}),
                    ],
                    metadata: vec![json!({"type": "invoice:reference", "value": reference})],
                    events: Vec::new(),
                    created,
                    updated: if state == "created" {
                        created
                    } else {
                        created + Duration::hours(f.int(2, 48) as i64)
                    },
                    v2: None,
                };
                invoice += 1;
                let _ = db.claims.insert(c);
            }
        }
    }
    // The other resources, in a fixed order (the order is part of the seed).
    {
        use crate::resources::*;
        mandates::seed(&mut f, &mut seq, &mut db);
        requests_to_client::seed(&mut f, &mut seq, &mut db);
        payments::seed(&mut f, &mut seq, &mut db);
        statements::seed(&mut f, &mut seq, &mut db);
        files::seed(&mut f, &mut seq, &mut db);
        webhooks::seed(&mut f, &mut seq, &mut db);
        info::seed(&mut f, &mut seq, &mut db);
        backoffice::seed(&mut f, &mut seq, &mut db);
    }
    crate::v2::statements::seed(&mut db, &mut seq);
    v2::seed(&mut db, &mut seq, seed, anchor);
    (db, seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(db: &Db) -> String {
        let mut out = String::new();
        for mode in [AccessMode::Test, AccessMode::Production] {
            let scope = Scope { company: COMPANY, mode };
            for d in db.debtors.iter(&scope) {
                out += &serde_json::to_string(d).expect("serializes");
            }
            for c in db.claims.iter(&scope) {
                out += &serde_json::to_string(c).expect("serializes");
            }
        }
        out
    }

    const ANCHOR: chrono::NaiveDate = mock_core::testing::ANCHOR_DATE;

    #[test]
    fn same_seed_and_anchor_give_byte_identical_data() {
        let (a, _) = generate(7, ANCHOR);
        let (b, _) = generate(7, ANCHOR);
        assert_eq!(dump(&a), dump(&b));
        let (c, _) = generate(8, ANCHOR);
        assert_ne!(dump(&a), dump(&c));
    }

    #[test]
    fn the_data_moves_with_the_anchor_date() {
        let later = shift(ANCHOR, 504);
        let (a, _) = generate(7, ANCHOR);
        let (b, _) = generate(7, later);
        assert_ne!(dump(&a), dump(&b));
        let scope = Scope {
            company: COMPANY,
            mode: AccessMode::Test,
        };
        let xs: Vec<_> = a.claims.iter(&scope).map(|c| (c.id, c.created)).collect();
        let ys: Vec<_> = b.claims.iter(&scope).map(|c| (c.id, c.created)).collect();
        assert_eq!(xs.len(), ys.len());
        for ((id, x), (id2, y)) in xs.into_iter().zip(ys) {
            assert_eq!(id, id2, "the same claims, only dated otherwise");
            assert_eq!((y - x).num_days(), 504, "claim {id}");
        }
        for s in b.statements.iter(&scope) {
            assert!(s.period_end < later, "statement {} ends before the anchor", s.id);
        }
    }

    #[test]
    fn claims_are_consistent_and_cover_every_state() {
        let (db, _) = generate(42, ANCHOR);
        let scope = Scope {
            company: COMPANY,
            mode: AccessMode::Test,
        };
        let mut states = std::collections::HashSet::new();
        for c in db.claims.iter(&scope) {
            states.insert(c.submission_state.clone());
            let charges: Decimal = c.additional_charges.iter().map(|a| a.amount.value).sum();
            let paid: Decimal = c.payments.iter().map(|p| p.amount.value).sum();
            assert_eq!(c.total_claim_amount.value, c.main_claim_amount.value + charges - paid);
            assert_eq!(c.additional_charges_amount.value, charges);
            assert!(db.debtors.get(&scope, &c.debtor.to_string()).is_some());
            assert_eq!(c.mandate.is_some(), c.submission_state == "accepted");
        }
        for s in SUBMISSION_STATES {
            assert!(states.contains(*s), "no claim in state {s}");
        }
        let prod = Scope {
            company: COMPANY,
            mode: AccessMode::Production,
        };
        assert!(db.claims.scope_len(&prod) > 0);
    }
}
