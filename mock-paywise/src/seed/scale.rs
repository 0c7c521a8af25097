//! The lean records of a large world (`--scale N`, [`mock_core::world::SeedSpec::scale`]).
//!
//! The fixture company's test mode holds, after its ordinary fixtures, `N` more claims in groups
//! of two that share a debtor:
//!
//! | per group | records |
//! |---|---|
//! | 1 debtor | a German company or person from a small pool of names and addresses drawn once, with one address and an e-mail channel |
//! | 2 claims | in every submission state but `accepted` (which would need a mandate), without items, charges or documents |
//! | 1 payment | a part payment of the group's first claim received before it was handed over: in the claim's `payments` and in `/v1/payments/` |
//!
//! so `N` claims come with `ceil(N / 2)` debtors and `ceil(N / 2)` payments (an odd `N` makes a
//! last group of one claim). Every record is consistent as the ordinary fixtures are: a claim's
//! `total_claim_amount` is its main claim less its payments, its debtor exists in the same mode,
//! its payment's id is the one inside the claim. Debtor references (`KD-...`), claim references
//! (`FO-...`, from the claim's sequence number) and invoice numbers (`RE-<year>-...`) continue
//! after the ordinary fixtures', so they stay unique.
//!
//! Sequence numbers continue after the ordinary fixtures' (in group order: debtor, claims,
//! payment). Claims were handed over 2 to 540 days before the anchor, their documents are 30 to
//! 200 days older. The scale records come after the ordinary fixtures are settled
//! ([`super::settle`]) and are not settled themselves: nothing in them is due at the anchor date's
//! midnight, so a large world is not rewritten by its first rule pass. A released claim was
//! released on the evening before the anchor date (its review falls due on the anchor date's
//! evening), a claim under review went under review on one of the two days before the anchor date
//! (its decision falls due one or two days after it); the other states are not moved by the rules,
//! and no scale claim has a mandate (so no payment of theirs awaits a statement). Everything is
//! drawn from a generator of its own that the seed determines, so the same seed, anchor, size and
//! scale give the same data, and the ordinary fixtures are the same whatever the scale.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use fixtures::{Faker, shift};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::format::Money;
use crate::resources::claims::{Claim, ClaimPayment, SubmissionState};
use crate::resources::debtors::{Address, Channel, Debtor, Organization, Person};
use crate::resources::payments::Payment;
use crate::state::{AccessMode, Db, Scope};

use super::COMPANY;

/// The scope the scale records belong to: the fixture company's test mode.
pub const SCOPE: Scope = Scope {
    company: COMPANY,
    mode: AccessMode::Test,
};
/// How many claims share a debtor (and one payment).
pub(crate) const CLAIMS_PER_DEBTOR: u64 = 2;

/// How many records of each kind scale `n` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Debtors: one per two claims.
    pub debtors: u64,
    /// Claims: `n`.
    pub claims: u64,
    /// Payments: one per two claims.
    pub payments: u64,
}

/// What scale `n` adds to the test mode.
pub fn counts(n: u64) -> Counts {
    let groups = n.div_ceil(CLAIMS_PER_DEBTOR);
    Counts {
        debtors: groups,
        claims: n,
        payments: groups,
    }
}

/// The seed of the scale records' generator.
fn scale_seed(seed: u64) -> u64 {
    seed ^ 0x5CA1_E5CA_1E5C_A1E5
}

/// A debtor's name and address, drawn once for the pool.
struct Party {
    person: Option<Person>,
    organization: Option<Organization>,
    address: Address,
    email: String,
}

/// How many parties the pool holds.
const POOL: usize = 256;

fn pool(f: &mut Faker) -> Vec<Party> {
    (0..POOL)
        .map(|_| {
            if f.chance(0.45) {
                let c = f.de_company();
                Party {
                    person: None,
                    organization: Some(Organization { name: c.name }),
                    address: address(c.address),
                    email: c.email,
                }
            } else {
                let p = f.de_person();
                Party {
                    person: Some(Person {
                        salutation: Some(p.salutation),
                        first_name: Some(p.first_name),
                        last_name: p.last_name,
                        birth_date: Some(p.birth_date),
                        death_date: None,
                    }),
                    organization: None,
                    address: address(p.address),
                    email: p.email,
                }
            }
        })
        .collect()
}

fn address(a: fixtures::Address) -> Address {
    Address {
        street: Some(format!("{} {}", a.street, a.house_number)),
        zip: Some(a.postal_code),
        city: Some(a.city),
        country: a.country_code,
    }
}

fn uuid(f: &mut Faker) -> Uuid {
    uuid::Builder::from_random_bytes(f.bytes16()).into_uuid()
}

/// A moment on `date` during office hours, to the microsecond (as the ordinary fixtures).
fn at(f: &mut Faker, date: NaiveDate) -> DateTime<Utc> {
    let base = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    base + Duration::seconds(f.int(6 * 3600, 20 * 3600) as i64) + Duration::microseconds(f.int(0, 999_999) as i64)
}

/// A moment on `date` in the evening (20:00 to midnight), to the microsecond.
fn evening(f: &mut Faker, date: NaiveDate) -> DateTime<Utc> {
    let base = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    base + Duration::seconds(f.int(20 * 3600, 24 * 3600 - 1) as i64) + Duration::microseconds(f.int(0, 999_999) as i64)
}

/// A claim's last change (`updated`) in `state`, handed over at `created` (at least two days
/// before the anchor). The states the time-driven rules move ([`crate::lifecycle`]) changed
/// recently enough that their next moment lies after the anchor date's midnight, up to which the
/// ordinary fixtures are settled: a released claim was released on the evening before the anchor
/// date (its review, a day later, falls due on the anchor date's evening), a claim under review
/// went under review on one of the two days before the anchor date (its decision, three days
/// later, falls due one or two days after it).
fn last_change(f: &mut Faker, state: &str, created: DateTime<Utc>, anchor: NaiveDate) -> DateTime<Utc> {
    match state {
        "created" => created,
        "released" => evening(f, shift(anchor, -1)),
        "under_review" => {
            let day = f.date_around(-2, -1);
            let review = at(f, day);
            if review > created {
                review
            } else {
                created + Duration::hours(1)
            }
        }
        _ => created + Duration::hours(f.int(2, 48) as i64),
    }
}

/// The states a scale claim is in: every one but `accepted`.
fn states() -> Vec<SubmissionState> {
    SubmissionState::ALL
        .iter()
        .copied()
        .filter(|s| *s != SubmissionState::Accepted)
        .collect()
}

/// Adds scale `n`'s records to the test mode of `db`, numbering them after `seq` (which ends at
/// the last one used); see the module docs.
pub fn seed(db: &mut Db, seq: &mut u64, seed: u64, anchor: NaiveDate, n: u64) {
    if n == 0 {
        return;
    }
    let mut f = Faker::new(scale_seed(seed), anchor);
    let parties = pool(&mut f);
    let states = states();
    let subjects = [
        "Softwarelizenz",
        "Wartungsvertrag",
        "Warenlieferung",
        "Beratungsleistung",
        "Mitgliedsbeitrag",
    ];
    let year = anchor.format("%Y").to_string();
    let mut debtor_number = 20_000 + db.debtors.scope_len(&SCOPE) as u64;
    let mut invoice = db.claims.scope_len(&SCOPE) as u64 + 1;
    let mut left = n;
    while left > 0 {
        let claims = left.min(CLAIMS_PER_DEBTOR);
        left -= claims;
        let party = f.pick(&parties);
        *seq += 1;
        let day = f.date_around(-560, -20);
        let debtor_created = at(&mut f, day);
        let debtor = Debtor {
            seq: *seq,
            scope: SCOPE,
            id: uuid(&mut f),
            your_reference: Some(format!("KD-{debtor_number}")),
            acting_as: if party.organization.is_some() {
                "business"
            } else {
                "consumer"
            }
            .into(),
            person: party.person.clone(),
            organization: party.organization.clone(),
            addresses: vec![party.address.clone()],
            communication_channels: vec![Channel {
                kind: "email".into(),
                value: party.email.clone(),
            }],
            bank_accounts: Vec::new(),
            metadata: Vec::new(),
            events: Vec::new(),
            created: debtor_created,
            updated: debtor_created,
            v2: None,
        };
        debtor_number += 1;
        let debtor_id = debtor.id;
        put(&mut db.debtors, debtor);
        let mut payment = None;
        for k in 0..claims {
            *seq += 1;
            let day = f.date_around(-540, -2);
            let created = at(&mut f, day);
            let document_date = shift(created.date_naive(), -(f.int(30, 200) as i64));
            let due_date = shift(document_date, 14);
            let reminder_date = shift(due_date, 14);
            let main = f.amount(80, 4_800);
            let state = *f.pick(&states);
            let id = uuid(&mut f);
            // The group's first claim was paid in part before it was handed over.
            let payments: Vec<ClaimPayment> = if k == 0 {
                let paid = (main / Decimal::from(f.int(2, 4))).round_dp(2);
                let p = ClaimPayment {
                    id: uuid(&mut f),
                    your_reference: Some(format!("ZE-{}", f.int(100_000, 999_999))),
                    amount: Money::eur(paid),
                    value_date: shift(due_date, 20).min(shift(created.date_naive(), -1)),
                    metadata: Vec::new(),
                    created,
                };
                payment = Some((id, p.clone()));
                vec![p]
            } else {
                Vec::new()
            };
            let paid: Decimal = payments.iter().map(|p| p.amount.value).sum();
            let claim = Claim {
                seq: *seq,
                scope: SCOPE,
                id,
                submission_state: state,
                debtor: debtor_id,
                mandate: None,
                your_reference: Some(format!("FO-{}", 50_000 + *seq)),
                subject_matter: Some(f.pick(&subjects).to_string()),
                occurence_date: Some(shift(document_date, -5)),
                document_reference: Some(format!("RE-{year}-{invoice:05}")),
                document_date: Some(document_date),
                due_date: Some(due_date),
                reminder_date: Some(reminder_date),
                delay_date: Some(shift(due_date, 1)),
                total_claim_amount: Money::eur(main - paid),
                main_claim_amount: Money::eur(main),
                items: Vec::new(),
                additional_charges_amount: Money::eur(Decimal::ZERO),
                additional_charges: Vec::new(),
                payments,
                starting_approach: if f.chance(0.85) { "extrajudicial" } else { "judicial" }.into(),
                claim_disputed: f.chance(0.1),
                obligation_fulfilled: true,
                documents: Vec::new(),
                metadata: Vec::new(),
                events: Vec::new(),
                created,
                updated: last_change(&mut f, state.as_str(), created, anchor),
                v2: None,
            };
            invoice += 1;
            put(&mut db.claims, claim);
        }
        if let Some((claim, p)) = payment {
            *seq += 1;
            put(
                &mut db.payments,
                Payment {
                    seq: *seq,
                    scope: SCOPE,
                    id: p.id,
                    claim,
                    your_reference: p.your_reference,
                    amount: p.amount,
                    value_date: p.value_date,
                    metadata: p.metadata,
                    created: p.created,
                },
            );
        }
    }
}

/// Stores a generated record; its id is fresh, so a duplicate means a bug in the generator, which
/// is logged rather than dropped in silence.
fn put<V: mock_core::Record>(table: &mut mock_core::Table<V>, record: V) {
    if let Err(e) = table.insert(record) {
        tracing::warn!("scale fixture record not stored: {e}");
    }
}
