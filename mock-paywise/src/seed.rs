//! Fixture data for the paywise mock: German debtors (people and companies) and claims in every
//! submission state, mostly in test mode with a few in production mode, all placed relative to
//! the anchor date (the mock clock's date at seeding, or the pinned `--anchor-date`), so the same
//! seed and anchor give byte-identical data.
//!
//! The data is drawn first, then **settled** ([`settle`]): paywise's time-driven rules
//! ([`crate::lifecycle`], with the default settings) run over it from its earliest due moment up
//! to the anchor date's midnight (UTC, [`settled_until`]), each change stamped at its own moment,
//! as if the world's clock had run through that time. So the claims drawn `released` or
//! `under_review` whose review or decision fell before that midnight are `under_review` or
//! `accepted` (with their mandates, "Mandat angelegt" status updates and v2 feed events), and
//! nothing in the fixtures is due at the anchor date's midnight: a freshly started world moves
//! only for the moments after it. With seed 42 at size 1, 15 claims went under review and 28 were
//! accepted into mandates; in test mode the one `released` claim left is the v2 titled order's
//! (see [`v2`]), a few stay `under_review` and fall due on the anchor date. The records the rules
//! make are numbered after the drawn ones, from an id generator of their own (not the world's,
//! which starts after them).
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
//! after all of the above (after the settling, which they need not: nothing in them is due at the
//! anchor date's midnight): a large world for measuring the mock (`--scale N`); see [`scale`] for
//! what they are. Scale 0 is exactly the data above.

pub mod scale;
pub mod v2;

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use fixtures::{Faker, shift};
use mock_core::auth::TokenRegistry;
use mock_core::timeline::{Moved, Rules};
use mock_core::{Clock, IdGen, Store};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::format::Money;
use crate::lifecycle::Agenda;
use crate::resources::claims::{AdditionalCharge, Claim, ClaimPayment, Item, SubmissionState};
use crate::resources::debtors::{Address, BankAccount, Channel, Debtor, Organization, Person};
use crate::state::{AccessMode, AppState, Db, Events, Lenient, Scope};

/// Keeps what storing a fixture record answered. The fixtures draw every key from the seeded
/// generator (random UUIDs) and count sequence numbers up, so the store cannot refuse one; if it
/// ever did (a bug in the fixtures), a debug build stops here and a release build logs it and
/// goes on without the record.
pub(crate) fn kept<T>(stored: Result<T, mock_core::store::StoreError>) {
    if let Err(e) = stored {
        if cfg!(debug_assertions) {
            panic!("fixture not stored: {e}");
        }
        tracing::error!("fixture not stored: {e}");
    }
}

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
/// docs), settled by the time-driven rules up to the anchor date's midnight ([`settle`]), and the
/// highest sequence number it used.
pub fn generate_sized(seed: u64, anchor: NaiveDate, size: u32) -> (Db, u64) {
    let (db, seq) = draw(seed, anchor, size);
    settle(db, seq, seed, anchor)
}

/// The seed of the id generator the rules draw from while settling: not the world's own
/// ([`crate::world`] starts that from `seed`), so the ids the world hands out later never repeat
/// the settled records'.
fn settle_seed(seed: u64) -> u64 {
    seed ^ 0x5e77_1ed0_5e77_1ed0
}

/// The anchor date's midnight (UTC): the fixtures are settled up to here.
pub fn settled_until(anchor: NaiveDate) -> DateTime<Utc> {
    anchor.and_time(NaiveTime::MIN).and_utc()
}

/// Runs the time-driven rules ([`crate::lifecycle`], with the default settings) over the drawn
/// fixtures from the earliest moment one is due up to [`settled_until`], each change stamped at
/// its own moment, as a world whose clock had run through that time would have them: released
/// claims reviewed and decided (mandates opened), v2 orders reviewed and decided, mandates moved
/// through their legal stages, monthly statements published. Their events go nowhere (the
/// fixtures have no webhook endpoints, and no dispatcher listens); v2's feed keeps its events as
/// it keeps any other. The sequence numbers the rules use continue after `seq`; the highest is
/// returned with the database. Deterministic: the same data, seed and anchor give the same result.
pub fn settle(db: Db, seq: u64, seed: u64, anchor: NaiveDate) -> (Db, u64) {
    let (db, seq, _) = run_rules(db, seq, seed, settled_until(anchor), false);
    (db, seq)
}

/// Runs the rules over `db` up to `until` as [`settle`] does, and says what they moved: through an
/// [`Agenda`], or, with `scan`, reading the whole database at every moment as a running world's
/// rules do (the tests check that both give the same).
fn run_rules(db: Db, seq: u64, seed: u64, until: DateTime<Utc>, scan: bool) -> (Db, u64, Vec<Moved>) {
    let Some(first) = crate::lifecycle::next_due(&db).filter(|at| *at <= until) else {
        return (db, seq, Vec::new());
    };
    debug_assert!(db.lifecycle.is_default(), "fixtures settle with the default rules");
    let agenda = RefCell::new(Agenda::new(&db));
    let state = AppState {
        store: Arc::new(Store::new(db)),
        clock: Clock::frozen(first),
        ids: Arc::new(IdGen::new(settle_seed(seed), seq + 1)),
        tokens: Arc::new(TokenRegistry::new()),
        events: Events::default(),
        lenient: Lenient::default(),
        v2: Default::default(),
        origin: Default::default(),
    };
    let rules = Rules::new(first);
    let moved = if scan {
        rules.run_until(
            &state.clock,
            until,
            || state.store.read(crate::lifecycle::next_due),
            |at| crate::lifecycle::run_due(&state, at),
        )
    } else {
        rules.run_until(
            &state.clock,
            until,
            || agenda.borrow().next_due(),
            |at| agenda.borrow_mut().run_due(&state, at),
        )
    };
    let last = state.ids.state().next - 1;
    (state.store.write(std::mem::take), last, moved)
}

/// The drawn fixtures (see the module docs), before [`settle`], and the highest sequence number
/// they use.
fn draw(seed: u64, anchor: NaiveDate, size: u32) -> (Db, u64) {
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
            crate::seed::kept(db.debtors.insert(d));
        }
        let mut invoice = 1u64;
        for d in &made {
            for _ in 0..f.int(1, claims_per) {
                seq += 1;
                let state = *f.pick(SubmissionState::ALL);
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
                let mandate = (state == SubmissionState::Accepted).then(|| {
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
                    submission_state: state,
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
                    updated: if state == SubmissionState::Created {
                        created
                    } else {
                        created + Duration::hours(f.int(2, 48) as i64)
                    },
                    v2: None,
                };
                invoice += 1;
                crate::seed::kept(db.claims.insert(c));
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

    /// How many timeline entries of each kind (`resource change`).
    fn kinds(moved: &[Moved]) -> std::collections::BTreeMap<String, usize> {
        let mut out = std::collections::BTreeMap::new();
        for m in moved {
            *out.entry(format!("{} {}", m.resource, m.change)).or_insert(0) += 1;
        }
        out
    }

    #[test]
    fn settling_moves_the_fixtures_each_at_its_own_moment_up_to_the_anchor() {
        let until = settled_until(ANCHOR);
        let (drawn, seq) = draw(42, ANCHOR, 1);
        let first = crate::lifecycle::next_due(&drawn).expect("the drawn fixtures have a rule due");
        assert!(first < until - Duration::days(7), "{first}");
        let (db, last, moved) = run_rules(drawn, seq, 42, until, false);
        // What the module docs say of the default seed.
        let k = kinds(&moved);
        let expected: std::collections::BTreeMap<String, usize> = [
            ("claim accepted", 28),
            ("claim under_review", 15),
            ("mandate created", 28),
        ]
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
        assert_eq!(k, expected);
        let test = Scope {
            company: COMPANY,
            mode: AccessMode::Test,
        };
        let released: Vec<_> = db
            .claims
            .iter(&test)
            .filter(|c| c.submission_state == "released")
            .collect();
        assert_eq!(released.len(), 1);
        assert!(
            released[0].v2.as_ref().is_some_and(|x| x.kind == "titled"),
            "{:?}",
            released[0]
        );
        assert!(db.claims.iter(&test).any(|c| c.submission_state == "under_review"));
        assert!(last > seq, "the rules' records are numbered after the fixtures'");
        assert!(moved.iter().all(|m| first <= m.at && m.at <= until), "{moved:?}");
        let stamps: HashSet<_> = moved.iter().map(|m| m.at).collect();
        assert!(
            stamps.len() > moved.len() / 3,
            "each change at its own moment: {stamps:?}"
        );
        // Each moved claim's last change is its moment.
        for m in moved.iter().filter(|m| m.resource == "claim") {
            let c = db.claims.find(&m.id).expect("the claim");
            if c.submission_state == m.change {
                assert_eq!(c.updated, m.at, "claim {}", m.id);
            }
        }
        assert!(crate::lifecycle::next_due(&db).is_none_or(|at| at > until));
        // The fixtures as generated are the settled ones.
        let (generated, generated_last) = generate(42, ANCHOR);
        assert_eq!(generated_last, last);
        assert!(generated.fingerprint() == db.fingerprint());
    }

    #[test]
    fn the_agenda_settles_as_scanning_the_database_does() {
        // Beyond the anchor too, so that every rule runs: reviews, decisions, legal stages and
        // monthly statements.
        for (size, anchor, days) in [
            (1, ANCHOR, 0),
            (2, ANCHOR, 0),
            (1, ANCHOR, 200),
            (2, shift(ANCHOR, 19), 100),
        ] {
            let until = settled_until(anchor) + Duration::days(days);
            let (db, seq) = draw(7, anchor, size);
            let (a, last_a, moved_a) = run_rules(db.clone(), seq, 7, until, false);
            let (b, last_b, moved_b) = run_rules(db, seq, 7, until, true);
            assert_eq!(last_a, last_b, "size {size}, {days} days");
            assert_eq!(moved_a, moved_b, "size {size}, {days} days");
            assert!(a.fingerprint() == b.fingerprint(), "size {size}, {days} days");
            if days == 200 {
                let k = kinds(&moved_a);
                for kind in [
                    "mandate judicial_dunning",
                    "mandate foreclosure",
                    "statement published",
                    "order accepted",
                ] {
                    assert!(k.contains_key(kind), "no {kind}: {k:?}");
                }
            }
        }
    }

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
            states.insert(c.submission_state);
            let charges: Decimal = c.additional_charges.iter().map(|a| a.amount.value).sum();
            let paid: Decimal = c.payments.iter().map(|p| p.amount.value).sum();
            assert_eq!(c.total_claim_amount.value, c.main_claim_amount.value + charges - paid);
            assert_eq!(c.additional_charges_amount.value, charges);
            assert!(db.debtors.get(&scope, &c.debtor.to_string()).is_some());
            assert_eq!(c.mandate.is_some(), c.submission_state == "accepted");
        }
        for s in SubmissionState::ALL {
            assert!(states.contains(s), "no claim in state {s}");
        }
        let prod = Scope {
            company: COMPANY,
            mode: AccessMode::Production,
        };
        assert!(db.claims.scope_len(&prod) > 0);
    }
}
