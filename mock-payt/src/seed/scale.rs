//! The lean records of a large world (`--scale N`, [`mock_core::world::SeedSpec::scale`]).
//!
//! Administration 81 holds, after its ordinary fixtures, `N` more credit cases in groups of two
//! that share a debtor:
//!
//! | per group | records |
//! |---|---|
//! | 1 debtor | a company or a person from a small pool of names and addresses drawn once |
//! | 2 invoices | one per case, sent, reminded twice, then handed to the case |
//! | 2 credit cases | one per invoice, at the stage the time-driven rules bring it to by the anchor (some paused at their third summons or deactivated at their second) |
//! | 1 payment | a part payment of the group's first invoice, before its case began |
//!
//! so `N` cases come with `ceil(N / 2)` debtors, `N` invoices and `ceil(N / 2)` payments (an odd
//! `N` makes a last group of one case). Every record is whole and consistent as the ordinary
//! fixtures are: an invoice's open amount is its total less its payments, a case's total is its
//! invoice's open amount plus the statutory collection costs and interest, the invoice carries the
//! case's stage timestamps and points at it, and the opt-in links and note addresses are those of
//! the record's id. They are lean in that they carry no invoice lines, documents, labels, order
//! or purchase-order numbers, contacts, notes, messages or bank transactions.
//!
//! Ids continue after the ordinary fixtures' (one id sequence, in group order: debtor, then per
//! case its invoice and the case, then the payment), and so do the business numbers of
//! administration 81 (debtor numbers, invoice numbers, case numbers). Dates lie before the anchor:
//! invoices are dated 61 to 540 days before it, so cases started 1 to 480 days before it and the
//! records' `updated_at` spread over the last year and a half (an `updated_after` of a month
//! before the anchor selects about a tenth of them). Everything is drawn from a generator of its
//! own that the seed determines, so the same seed, anchor, size and scale give the same data, and
//! the ordinary fixtures are the same whatever the scale.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use fixtures::{Faker, shift};
use rust_decimal::Decimal;

use super::{Gen, at, wik};

use crate::format::{Stamp, Text, stamp};
use crate::links::{AppKind, Link, NoteKind};
use crate::resources::credit_cases::CreditCase;
use crate::resources::debtors::{Debtor, PostalAddress};
use crate::resources::invoices::{self, Invoice};
use crate::resources::payments::Payment;
use crate::state::Db;

/// The administration the scale records belong to.
pub const ADMINISTRATION: u64 = 81;
/// How many credit cases share a debtor (and one payment).
pub(crate) const CASES_PER_DEBTOR: u64 = 2;

/// How many records of each kind scale `n` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Debtors: one per two cases.
    pub debtors: u64,
    /// Invoices: one per case.
    pub invoices: u64,
    /// Credit cases: `n`.
    pub credit_cases: u64,
    /// Payments: one per two invoices.
    pub payments: u64,
}

/// What scale `n` adds to administration 81.
pub fn counts(n: u64) -> Counts {
    let groups = n.div_ceil(CASES_PER_DEBTOR);
    Counts {
        debtors: groups,
        invoices: n,
        credit_cases: n,
        payments: groups,
    }
}

/// The seed of the scale records' generator.
fn scale_seed(seed: u64) -> u64 {
    seed ^ 0x5CA1_E5CA_1E5C_A1E5
}

/// A debtor's name and address, drawn once for the pool.
struct Party {
    name: Text,
    /// The chamber-of-commerce number of a company, `None` for a person.
    coc: Option<Text>,
    email: Text,
    city: String,
    postal_code: Text,
    street: Text,
}

/// How many parties the pool holds (the debtors cycle through it with a random pick).
const POOL: usize = 256;

fn pool(f: &mut Faker) -> Vec<Party> {
    (0..POOL)
        .map(|_| {
            if f.chance(0.7) {
                let c = f.nl_company();
                Party {
                    name: c.name.into(),
                    coc: Some(c.registration_number.into()),
                    email: c.email.into(),
                    city: c.address.city,
                    postal_code: c.address.postal_code.into(),
                    street: arcstr::format!("{} {}", c.address.street, c.address.house_number),
                }
            } else {
                let p = f.nl_person();
                Party {
                    name: format!("{} {}", p.first_name, p.last_name).into(),
                    coc: None,
                    email: p.email.into(),
                    city: p.address.city,
                    postal_code: p.address.postal_code.into(),
                    street: arcstr::format!("{} {}", p.address.street, p.address.house_number),
                }
            }
        })
        .collect()
}

/// Adds scale `n`'s records to administration 81 of `db`, taking ids from `g` (see the module
/// docs).
pub fn seed(g: &mut Gen, db: &mut Db, seed: u64, n: u64) {
    if n == 0 {
        return;
    }
    let admin = ADMINISTRATION;
    let mut f = Faker::new(scale_seed(seed), g.f.anchor());
    let parties = pool(&mut f);
    let anchor_at = f.anchor_at(0);
    let mut debtor_number = 10_000 + db.debtors.scope_len(&admin) as u64;
    let mut invoice_number = db.invoices.scope_len(&admin) as u64 + 1;
    let mut case_number = db.credit_cases.scope_len(&admin) as u64 + 1;
    let mut left = n;
    while left > 0 {
        let cases = left.min(CASES_PER_DEBTOR);
        left -= cases;
        let party = f.pick(&parties);
        let debtor_id = g.id();
        let mut debtor = Debtor {
            id: debtor_id,
            administration_id: admin,
            debtor_number: debtor_number.to_string(),
            debtor_identifier: format!("{:012x}", f.int(0, (1 << 48) - 1)),
            name: party.name.clone(),
            primary_email_address: Some(party.email.clone()),
            postal_address: PostalAddress {
                city: party.city.clone(),
                country_code: arcstr::literal!("NL"),
                postal_code: Some(party.postal_code.clone()),
                region: None,
                street_1: Some(party.street.clone()),
                street_2: None,
            },
            coc_number: party.coc.clone(),
            is_company: Some(party.coc.is_some()),
            // None of the debtor's invoices is paid in full.
            payment_behaviour: Some(0),
            public_url: crate::resources::debtors::public_url(debtor_id),
            deeplink_url: Link::app(admin, AppKind::Debtor, debtor_id),
            internal_note_email_address: Link::note(NoteKind::Debtor, debtor_id),
            updated_at: at(f.date_around(-540, -30), &mut f),
            ..Default::default()
        };
        debtor_number += 1;
        let flow = if party.coc.is_some() {
            arcstr::literal!("b2b")
        } else {
            arcstr::literal!("b2c")
        };
        let mut book_open = Decimal::ZERO;
        let mut first_invoice: Option<(u64, String, NaiveDate, DateTime<Utc>, Decimal)> = None;
        let mut records = Vec::with_capacity(cases as usize);
        for k in 0..cases {
            let invoice_id = g.id();
            let case_id = g.id();
            let invoice_date = f.date_around(-540, -61);
            let due_date = shift(invoice_date, 30);
            let total = f.amount(45, 7_500);
            // The group's first invoice was paid in part before its case began.
            let paid = if k == 0 {
                (total / Decimal::from(f.int(2, 4))).round_dp(2)
            } else {
                Decimal::ZERO
            };
            let open = total - paid;
            book_open += open;
            let started = at(shift(due_date, 30), &mut f);
            let case = case(
                &mut f,
                CaseParts {
                    admin,
                    id: case_id,
                    number: case_number,
                    debtor_id,
                    invoice_id,
                    principal: open,
                    started,
                    anchor_at,
                },
            );
            case_number += 1;
            let number = g.invoice_number(invoice_number);
            invoice_number += 1;
            let sent = at(invoice_date, &mut f);
            let reminder_1 = at(shift(due_date, 7), &mut f);
            let reminder_2 = at(shift(due_date, 21), &mut f);
            let invoice = Invoice {
                id: invoice_id,
                administration_id: admin,
                debtor_id,
                invoice_number: number.as_str().into(),
                currency_code: arcstr::literal!("EUR"),
                invoice_date,
                due_date,
                total_amount: total,
                open_amount: open,
                book_total_amount: total,
                book_open_amount: open,
                payment_method: arcstr::literal!("bank_transfer"),
                payment_term: Some(30),
                public_url: invoices::public_url(invoice_id),
                deeplink_url: invoices::deeplink_url(admin, invoice_id),
                internal_note_email_address: invoices::note_address(invoice_id),
                flow: flow.clone(),
                active_credit_case_id: Some(case_id),
                sent_at: Some(Stamp::new(sent)),
                reminder_1_at: Some(Stamp::new(reminder_1)),
                first_reminder_at: Some(Stamp::new(reminder_1)),
                reminder_2_at: Some(Stamp::new(reminder_2)),
                latest_reminder_at: Some(Stamp::new(reminder_2)),
                debt_collection_at: Some(Stamp::new(case.started_at)),
                pre_summons_at: case.pre_summons_at,
                summons_1_at: case.summons_1_at,
                first_summons_at: case.first_summons_at,
                summons_2_at: case.summons_2_at,
                summons_3_at: case.summons_3_at,
                summons_4_at: case.summons_4_at,
                latest_summons_at: case.latest_summons_at,
                notice_of_default_at: case.notice_of_default_at,
                pre_judicial_at: case.pre_judicial_at,
                bailiff_at: case.forwarded_to_bailiff_at,
                updated_at: case.updated_at.max(reminder_2).min(anchor_at),
                ..Default::default()
            };
            if k == 0 {
                first_invoice = Some((invoice_id, number, invoice_date, started, paid));
            }
            records.push((invoice, case));
        }
        debtor.book_open_amount = book_open;
        put(&mut db.debtors, debtor);
        for (invoice, case) in records {
            put(&mut db.invoices, invoice);
            put(&mut db.credit_cases, case);
        }
        if let Some((invoice_id, number, invoice_date, started, amount)) = first_invoice {
            let id = g.id();
            let span = (started.date_naive() - invoice_date).num_days().max(2);
            let day = shift(invoice_date, f.int(1, span as u64 - 1) as i64);
            let updated = at(shift(day, 1), &mut f).min(anchor_at);
            put(
                &mut db.payments,
                Payment {
                    administration_id: admin,
                    id,
                    cost_type: Some(arcstr::literal!("principal")),
                    description: Some(arcstr::format!("Betaling {number}")),
                    transaction_type: Some(arcstr::literal!("payment")),
                    invoice_id,
                    payment_method: Some(arcstr::literal!("ideal")),
                    updated_at: updated,
                    total_amount: amount,
                    total_book_amount: amount,
                    payment_date: day,
                    origin_identifier: Some(arcstr::format!("BNK-{admin}-{id}")),
                    ..Default::default()
                },
            );
        }
    }
}

/// What a scale case is made of.
struct CaseParts {
    admin: u64,
    id: u64,
    number: u64,
    debtor_id: u64,
    invoice_id: u64,
    /// The invoice's open amount when the case began.
    principal: Decimal,
    started: DateTime<Utc>,
    anchor_at: DateTime<Utc>,
}

/// A credit case at a stage its age allows, with the ordinary fixtures' costs and stage dates.
fn case(f: &mut Faker, p: CaseParts) -> CreditCase {
    let CaseParts {
        admin,
        id,
        number,
        debtor_id,
        invoice_id,
        principal,
        started,
        anchor_at,
    } = p;
    // Stage k is 14 k days in (summons 1-4, the notice of default at 6, pre-judicial at 7, the
    // bailiff at 8), as the time-driven rules walk a case (`lifecycle.rs`), and a case stands
    // where those rules bring it by the anchor, unless it was stopped earlier: paused at its
    // third summons or deactivated at its second.
    let reachable = ((anchor_at - started).num_days().max(0) / 14).min(8) as u64;
    let stopped = match reachable {
        3.. if f.chance(0.1) => Some(3),
        2.. if f.chance(0.05) => Some(2),
        _ => None,
    };
    let stage = stopped.unwrap_or(reachable);
    let step = |k: i64| Some(started + Duration::days(14 * k));
    let collection = wik(principal);
    let interest = (principal * Decimal::new(8, 2) * Decimal::from(f.int(1, 9)) / Decimal::from(12)).round_dp(2);
    let total = principal + collection + interest;
    let summons = |k: u64| if stage >= k { step(k as i64) } else { None };
    let notice_of_default_at = if stage >= 6 { step(6) } else { None };
    let latest_summons_at = [summons(4), summons(3), summons(2), summons(1)]
        .into_iter()
        .flatten()
        .next()
        .map(|t| {
            if notice_of_default_at.is_some() {
                t + Duration::days(1)
            } else {
                t
            }
        });
    let paused_at = if stopped == Some(3) { step(3) } else { None };
    let deactivated_at = if stopped == Some(2) { step(2) } else { None };
    let pre_judicial_at = if stage >= 7 { step(7) } else { None };
    let forwarded_to_bailiff_at = if stage >= 8 { step(8) } else { None };
    let updated_at = [
        Some(started),
        latest_summons_at,
        notice_of_default_at,
        pre_judicial_at,
        forwarded_to_bailiff_at,
        paused_at,
        deactivated_at,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(started)
    .min(anchor_at);
    CreditCase {
        debt_collection_costs: collection,
        open_interest_and_collection_costs: collection + interest,
        total_amount: total,
        open_amount: total,
        interest_costs: interest,
        forwarded_to_bailiff_at: stamp(forwarded_to_bailiff_at),
        latest_summons_at: stamp(latest_summons_at),
        notice_of_default_at: stamp(notice_of_default_at),
        pre_judicial_at: stamp(pre_judicial_at),
        pre_summons_at: stamp(step(0)),
        paused_at: stamp(paused_at),
        deactivated_at: stamp(deactivated_at),
        first_summons_at: stamp(summons(1)),
        summons_1_at: stamp(summons(1)),
        summons_2_at: stamp(summons(2)),
        summons_3_at: stamp(summons(3)),
        summons_4_at: stamp(summons(4)),
        updated_at,
        invoice_ids: thin_vec::thin_vec![invoice_id],
        ..CreditCase::new(admin, id, number, debtor_id, started)
    }
}

/// Stores a generated record; its id is fresh, so a duplicate means a bug in the generator, which
/// is logged rather than dropped in silence.
fn put<V: mock_core::Record>(table: &mut mock_core::Table<V>, record: V) {
    if let Err(e) = table.insert(record) {
        tracing::warn!("scale fixture record not stored: {e}");
    }
}
