//! Fixture data for the Payt mock, assembled from `fixtures` values and a seed.
//!
//! Three administrations: 81 and 82 are granted to the default token, 83 exists but is not (it
//! answers 403). Each has about 120 debtors (Dutch companies and people), three invoices per debtor
//! on average (some paid, some partly paid, many overdue), credit cases at every stage for the
//! debtors with long-overdue invoices, payment plans in every state and notifications of several
//! types. Every timestamp is placed relative to the anchor date (the mock clock's date at seeding, or
//! the pinned `--anchor-date`), never the wall clock, so
//! the same seed always gives byte-identical data.
//!
//! # Size
//!
//! [`generate_sized`] scales the data by `size`; [`generate`] is size 1, the data described above.
//!
//! - **0**: only the tenants and the reference data the tokens and the API need: the three
//!   administrations, the company that owns them, and each administration's VAT rates and payment
//!   conditions. No debtors, contacts, invoices, payments, cases, plans, notes, messages, tasks,
//!   notifications, orders, PSP records, documents or tombstones.
//! - **1**: the data above.
//! - **N > 1**: the size-1 data unchanged (the same records with the same ids), then `N - 1` more
//!   blocks per administration, each with exactly as many debtors as the administration's first
//!   block and everything that comes with them (invoices, documents, payments, cases, plans,
//!   contacts, notifications, messages, notes, tasks, orders, PSP records, tombstones), drawn from
//!   a generator of its own that the seed and the block number determine. Ids continue after the
//!   previous block's; business numbers (debtor numbers, invoice numbers and identifiers, case
//!   numbers, contact identifiers, order-line identifiers, mandate references, tombstone invoice
//!   numbers) continue per administration, so they stay unique, and bank transactions get a range
//!   of ids per administration and block. Live invoices never take the numbers `202690000` up to
//!   `2026` followed by `90000 + 10 N - 1`, which the deleted invoices use (at most ten a block);
//!   only a world of hundreds of blocks has that many invoices.
//!
//! # Scale
//!
//! [`generate_scaled`] adds `scale` lean records to administration 81 after all of the above: a
//! large world for measuring the mock (`--scale N`); see [`scale`] for what they are. Scale 0 is
//! exactly the data above.
//!
//! # Settled by the time-driven rules
//!
//! Each block is generated, then settled: [`crate::lifecycle::settle`] runs Payt's time-driven
//! rules over it up to the anchor date's 00:00 UTC, each change at its own moment, with new ids
//! after the block's. So overdue invoices have walked the reminder flow (the long-overdue ones
//! into a credit case, with its statutory costs), cases stand at the stage their age gives them
//! (pre-judicial ones with their task), missed plan terms have expired and old misses
//! deactivated their plan; nothing is due before the anchor's midnight. The first block is
//! settled before the next is generated, so the size-1 data is the same at every size and scale.
//!
//! The same seed, anchor, size and scale always give the same data.

pub mod scale;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use fixtures::{Faker, shift};
use rust_decimal::Decimal;

use thin_vec::ThinVec;

use crate::format::Stamp;
use crate::resources::administrations::Administration;
use crate::resources::credit_cases::CreditCase;
use crate::resources::debtors::{Debtor, PostalAddress};
use crate::resources::invoices::Invoice;
use crate::resources::notifications::{Details, Notification};
use crate::resources::payment_plans::{PaymentPlan, PaymentTerm, PlanState, public_url};
use crate::resources::{Label, User};
use crate::state::Db;

/// Administrations the default token is granted.
pub(crate) const GRANTED_ADMINISTRATIONS: [u64; 2] = [81, 82];
/// An administration that exists but is not granted to the default token.
const UNGRANTED_ADMINISTRATION: u64 = 83;

/// Every fixture administration, in the order they are seeded.
const ADMINISTRATIONS: [u64; 3] = [
    GRANTED_ADMINISTRATIONS[0],
    GRANTED_ADMINISTRATIONS[1],
    UNGRANTED_ADMINISTRATION,
];

/// The first id handed to seeded records other than administrations.
const FIRST_ID: u64 = 1001;

/// The most deleted-invoice tombstones one block of an administration has.
pub(crate) const TOMBSTONES_PER_BLOCK: u64 = 10;

/// The seeded generator every fixture draws from: fake values and the next id.
pub struct Gen {
    /// Fake values.
    pub f: Faker,
    next: u64,
    /// Payt users who act on records (approve, reject, acknowledge, ...).
    pub users: Vec<User>,
    /// Where the business numbers of the block being seeded start.
    pub numbering: Numbering,
    /// The size being generated (see the module docs).
    pub size: u32,
}

/// Stores a generated record in `table`.
///
/// It cannot be refused: a fixture's key is its id from [`Gen::id`] (or, for a tombstone, the id
/// of the record it stands for, each deleted once), and ids never repeat within a world, so no
/// key or sequence number is ever stored twice. Were a generator ever to break that, the refusal
/// is logged as an error, not dropped.
pub fn put<V: mock_core::Record>(table: &mut mock_core::Table<V>, record: V) {
    if let Err(e) = table.insert(record) {
        tracing::error!("a fixture was not stored: {e}");
    }
}

/// Tombstones of records deleted in the Payt interface: `low` to `high` of them in administration
/// `admin`, each of a random debtor of it, deleted 1 to 60 days before the fixture anchor between
/// 07:00 and 19:00; `make(id, debtor_id, deleted_at)` builds one. Nothing without debtors.
pub fn tombstones<V: mock_core::Record>(
    g: &mut Gen,
    db: &mut Db,
    admin: u64,
    (low, high): (u64, u64),
    table: fn(&mut Db) -> &mut mock_core::Table<V>,
    make: impl Fn(u64, u64, DateTime<Utc>) -> V,
) {
    let debtors: Vec<u64> = db.debtors.iter(&admin).map(|d| d.id).collect();
    if debtors.is_empty() {
        return;
    }
    for _ in 0..g.f.int(low, high) {
        let debtor_id = *g.f.pick(&debtors);
        let id = g.id();
        let day = g.f.date_around(-60, -1);
        let secs = g.f.int(7 * 3600, 19 * 3600) as i64;
        let deleted_at = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default() + Duration::seconds(secs);
        put(table(db), make(id, debtor_id, deleted_at));
    }
}

/// What a seeded note, task or message can be about, as `(debtor_id, invoice_id, credit_case_id)`:
/// a debtor of the administration, one of its invoices or one of its credit cases (each with its
/// debtor). Each pick draws one element of its list, in the order the store holds them.
#[derive(Debug)]
pub struct Targets {
    /// The debtors' ids.
    pub debtors: Vec<u64>,
    /// The invoices' ids, each with its debtor's.
    pub invoices: Vec<(u64, u64)>,
    /// The credit cases' ids, each with its debtor's.
    pub cases: Vec<(u64, u64)>,
}

/// `(debtor_id, invoice_id, credit_case_id)` of a record about a debtor, an invoice or a case.
pub type Target = (u64, Option<u64>, Option<u64>);

impl Targets {
    /// The debtors, invoices and credit cases of administration `admin`.
    pub fn of(db: &Db, admin: u64) -> Self {
        Self {
            debtors: db.debtors.iter(&admin).map(|d| d.id).collect(),
            invoices: db.invoices.iter(&admin).map(|i| (i.id, i.debtor_id)).collect(),
            cases: db.credit_cases.iter(&admin).map(|c| (c.id, c.debtor_id)).collect(),
        }
    }

    /// A random debtor (callers return early when there is none).
    pub fn debtor(&self, g: &mut Gen) -> Target {
        (*g.f.pick(&self.debtors), None, None)
    }

    /// A random invoice with its debtor; a random debtor when there are no invoices.
    pub fn invoice(&self, g: &mut Gen) -> Target {
        if self.invoices.is_empty() {
            return self.debtor(g);
        }
        let (i, d) = *g.f.pick(&self.invoices);
        (d, Some(i), None)
    }

    /// A random credit case with its debtor; a random debtor when there are no cases.
    pub fn case(&self, g: &mut Gen) -> Target {
        if self.cases.is_empty() {
            return self.debtor(g);
        }
        let (c, d) = *g.f.pick(&self.cases);
        (d, None, Some(c))
    }
}

impl Gen {
    /// The next free id.
    pub fn id(&mut self) -> u64 {
        let id = self.next;
        self.next += 1;
        id
    }

    /// The invoice number of the `n`-th invoice (from 1) of an administration: `2026` and `n` in
    /// at least five digits, skipping the numbers the deleted invoices use (see the module docs).
    pub fn invoice_number(&self, n: u64) -> String {
        let n = if n < DELETED_INVOICE_NUMBERS {
            n
        } else {
            n + TOMBSTONES_PER_BLOCK * u64::from(self.size)
        };
        format!("{}{:05}", 2026, n)
    }

    /// The invoice number of the `t`-th (from 0) deleted invoice of an administration.
    pub fn deleted_invoice_number(&self, t: u64) -> String {
        format!("2026{:05}", DELETED_INVOICE_NUMBERS + t)
    }
}

/// Where the numbers of deleted invoices start.
const DELETED_INVOICE_NUMBERS: u64 = 90_000;

/// Where the business numbers of one block of an administration's fixtures start: how many
/// numbered records of each kind the administration's earlier blocks made. All zero for the first
/// block, so size 1 numbers everything from the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Numbering {
    /// The block (0 for the size-1 data).
    pub block: u64,
    /// Debtors so far (debtor numbers continue after them).
    pub debtors: u64,
    /// Invoices so far (invoice numbers and identifiers).
    pub invoices: u64,
    /// Credit cases so far (case numbers).
    pub credit_cases: u64,
    /// Contacts so far (contact identifiers).
    pub contacts: u64,
    /// Deleted-invoice tombstones so far (their invoice numbers and origin identifiers).
    pub deleted_invoices: u64,
    /// Order lines so far (order-line and credit-invoice identifiers).
    pub order_lines: u64,
    /// PSP mandates so far (mandate references).
    pub psp_mandates: u64,
}

impl Numbering {
    /// The numbering of block `block` of administration `admin`, after what `db` holds.
    fn after(db: &Db, admin: u64, block: u64) -> Self {
        let n = |len: usize| len as u64;
        Self {
            block,
            debtors: n(db.debtors.scope_len(&admin)),
            invoices: n(db.invoices.scope_len(&admin)),
            credit_cases: n(db.credit_cases.scope_len(&admin)),
            contacts: n(db.contacts.scope_len(&admin)),
            deleted_invoices: n(db.deleted_invoices.scope_len(&admin)),
            order_lines: n(db.order_lines.scope_len(&admin)),
            psp_mandates: n(db.psp_mandates.scope_len(&admin)),
        }
    }
}

fn at(date: NaiveDate, f: &mut Faker) -> DateTime<Utc> {
    let secs = f.int(7 * 3600, 19 * 3600) as i64;
    date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default() + Duration::seconds(secs)
}

/// The generated database and the highest id it used (size 1: see the module docs).
pub fn generate(seed: u64, anchor: NaiveDate) -> (Db, u64) {
    generate_sized(seed, anchor, 1)
}

/// The seed of the generator of block `block` (from 1) of a world of size > 1.
fn block_seed(seed: u64, block: u64) -> u64 {
    seed ^ block.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The generated database of `size` (see the module docs) and the highest id it used.
pub fn generate_sized(seed: u64, anchor: NaiveDate, size: u32) -> (Db, u64) {
    generate_scaled(seed, anchor, size, 0)
}

/// The generated database of `size` with `scale` lean records more (see the module docs and
/// [`scale`]) and the highest id it used.
pub fn generate_scaled(seed: u64, anchor: NaiveDate, size: u32, scale: u64) -> (Db, u64) {
    let mut g = Gen {
        f: Faker::new(seed, anchor),
        next: FIRST_ID,
        users: Vec::new(),
        numbering: Numbering::default(),
        size,
    };
    let mut db = Db::default();
    let users: Vec<User> = (0..4)
        .map(|i| {
            let p = g.f.nl_person();
            User {
                id: 501 + i,
                name: format!("{} {}", p.first_name, p.last_name),
                email_address: p.email,
            }
        })
        .collect();
    for admin_id in ADMINISTRATIONS {
        let c = g.f.nl_company();
        let admin = Administration {
            id: admin_id,
            name: c.name.clone(),
            status: crate::resources::administrations::AdministrationStatus::Active,
            email_address: c.email.clone(),
            contact_name: c.contact_name.clone(),
            commercial_registration_number: c.registration_number.clone(),
            country_code: "NL".into(),
            city: c.address.city.clone(),
            house_number: c.address.house_number.clone(),
            internal_name: c.name.to_lowercase(),
            street_name: c.address.street.clone(),
            postal_code: c.address.postal_code.clone(),
            bank_account_name: Some(c.name.clone()),
            bank_account_number: Some(c.iban.clone()),
            bank_account_bic: Some(c.bic.clone()),
            vat_number: Some(c.vat_number.clone()),
            timezone: "Europe/Amsterdam".into(),
            currency_code: "EUR".into(),
            administration_url: crate::links::app_administration(admin_id),
            import_origin_identifier: Some(format!("exact-online-{}", g.f.int(100_000, 999_999))),
            last_successful_import_at: Some(g.f.anchor_at(0) - Duration::hours(g.f.int(1, 30) as i64)),
            paused_at: None,
            reminding_paused_at: None,
        };
        crate::seed::put(&mut db.administrations, admin);
        g.users = users.clone();
        if size == 0 {
            seed_resources(&mut g, &mut db, admin_id, Part::Reference);
        } else {
            seed_administration(&mut g, &mut db, admin_id, &users, None);
            seed_resources(&mut g, &mut db, admin_id, Part::All);
        }
    }
    // The fixtures as the time-driven rules leave them at the anchor date's midnight, before the
    // further blocks and the scale records, so the size-1 data is the same whatever the size and
    // the scale.
    if size > 0 {
        settle(&mut g, &mut db, seed);
    }
    // The further blocks, each from its own generator, into a database of its own (the fixture
    // hooks read every record of their administration) that then joins the rest.
    let first_blocks: Vec<(u64, u64)> = ADMINISTRATIONS
        .iter()
        .map(|&a| (a, db.debtors.scope_len(&a) as u64))
        .collect();
    for block in 1..u64::from(size) {
        g.f = Faker::new(block_seed(seed, block), anchor);
        for &(admin, debtors) in &first_blocks {
            g.numbering = Numbering::after(&db, admin, block);
            let mut part = Db::default();
            seed_administration(&mut g, &mut part, admin, &users, Some(debtors));
            seed_resources(&mut g, &mut part, admin, Part::Data);
            // Settled on its own (its records depend on no other block's), so the cost grows
            // with the size, not with its square.
            settle(&mut g, &mut part, seed);
            absorb(&mut db, part);
        }
    }
    // The scale records are made settled (see `scale`).
    scale::seed(&mut g, &mut db, seed, scale);
    let last = g.next - 1;
    (db, last)
}

/// Runs the time-driven rules over `db` up to the anchor date's midnight (see
/// [`crate::lifecycle::settle`]), the records they make taking the next ids of `g`.
fn settle(g: &mut Gen, db: &mut Db, seed: u64) {
    let until = g.f.anchor_at(0);
    let (settled, next) = crate::lifecycle::settle(std::mem::take(db), seed, g.next, until);
    *db = settled;
    g.next = next;
}

/// Moves every record of `part` into `db` (their ids are new to it).
fn absorb(db: &mut Db, part: Db) {
    fn all<V: mock_core::Record>(into: &mut mock_core::Table<V>, from: mock_core::Table<V>) {
        let mut records: Vec<V> = from.iter_all().cloned().collect();
        records.sort_by_key(mock_core::Record::seq);
        for r in records {
            if into.insert(r).is_err() {
                tracing::warn!("duplicate fixture record");
            }
        }
    }
    macro_rules! merge {
        ($($table:ident),*) => {{
            // Destructured, so a new table cannot be left out.
            let Db { $($table),* } = part;
            $(all(&mut db.$table, $table);)*
        }};
    }
    crate::state::db_tables!(merge);
}

/// Seeds one block of administration `admin`'s debtors, invoices, cases, plans and notifications:
/// `debtors` debtors, or (the first block) a count drawn from the generator.
fn seed_administration(g: &mut Gen, db: &mut Db, admin: u64, users: &[User], debtors: Option<u64>) {
    let debtor_count = debtors.unwrap_or_else(|| 110 + g.f.int(0, 20));
    let first_number = 10_000 + g.numbering.debtors;
    let mut debtors = Vec::new();
    for i in 0..debtor_count {
        let id = g.id();
        let company = g.f.chance(0.7);
        let (name, email, address, coc) = if company {
            let c = g.f.nl_company();
            (c.name, c.email, c.address, Some(c.registration_number))
        } else {
            let p = g.f.nl_person();
            (format!("{} {}", p.first_name, p.last_name), p.email, p.address, None)
        };
        let d = Debtor {
            id,
            administration_id: admin,
            debtor_number: format!("{}", first_number + i),
            debtor_identifier: format!(
                "{:012x}",
                u64::from_le_bytes(g.f.bytes16()[..8].try_into().unwrap_or([0; 8])) >> 16
            ),
            name: name.into(),
            primary_email_address: Some(email.into()),
            postal_address: PostalAddress {
                city: address.city,
                country_code: address.country_code.into(),
                postal_code: Some(address.postal_code.into()),
                region: None,
                street_1: Some(arcstr::format!("{} {}", address.street, address.house_number)),
                street_2: None,
            },
            coc_number: coc.map(Into::into),
            updated_at: at(g.f.date_around(-400, -30), &mut g.f),
            ..Default::default()
        };
        debtors.push(d.clone());
        crate::seed::put(&mut db.debtors, d);
    }

    // Invoices, 1 to 5 per debtor.
    let mut invoices: Vec<Invoice> = Vec::new();
    let mut number = g.numbering.invoices + 1;
    for d in &debtors {
        for _ in 0..g.f.int(1, 5) {
            let id = g.id();
            let invoice_date = g.f.date_around(-220, -3);
            let due_date = shift(invoice_date, *g.f.pick(&[14, 14, 30, 30, 60]));
            let total = g.f.amount(45, 7_500);
            let paid_roll = g.f.int(0, 99);
            let open = if paid_roll < 45 {
                Decimal::ZERO
            } else if paid_roll < 60 {
                (total / Decimal::from(g.f.int(2, 4))).round_dp(2)
            } else {
                total
            };
            let inv = Invoice {
                id,
                administration_id: admin,
                debtor_id: d.id,
                invoice_number: g.invoice_number(number).into(),
                invoice_identifier: (g.f.chance(0.8).then(|| format!("INV-{admin}-{number:06}"))).map(Into::into),
                currency_code: "EUR".into(),
                invoice_date,
                due_date,
                total_amount: total,
                open_amount: open,
                active_credit_case_id: None,
                active_payment_plan_id: None,
                updated_at: at(shift(invoice_date, 1), &mut g.f),
                ..Default::default()
            };
            number += 1;
            invoices.push(inv);
        }
    }

    // Credit cases: one per debtor with invoices open for more than 45 days past due.
    let mut cases: Vec<CreditCase> = Vec::new();
    let overdue_cutoff = shift(g.f.anchor(), -45);
    let mut case_number = g.numbering.credit_cases + 1;
    for d in &debtors {
        let overdue: Vec<usize> = invoices
            .iter()
            .enumerate()
            .filter(|(_, i)| i.debtor_id == d.id && i.open_amount > Decimal::ZERO && i.due_date < overdue_cutoff)
            .map(|(n, _)| n)
            .collect();
        if overdue.is_empty() || !g.f.chance(0.75) {
            continue;
        }
        let id = g.id();
        let total: Decimal = overdue.iter().map(|&n| invoices[n].open_amount).sum();
        let earliest_due = overdue
            .iter()
            .map(|&n| invoices[n].due_date)
            .min()
            .unwrap_or(overdue_cutoff);
        let started = at(shift(earliest_due, 30), &mut g.f);
        // A case reaches a stage only once its date has passed: stage k is 14 k days in.
        let reachable = ((g.f.anchor_at(0) - started).num_days().max(0) / 14).min(8) as u64;
        let stage = g.f.int(0, reachable);
        let step = |k: i64| Some(Stamp::new(started + Duration::days(14 * k)));
        let collection = wik(total);
        let interest = (total * Decimal::new(8, 2) * Decimal::from(g.f.int(1, 9)) / Decimal::from(12)).round_dp(2);
        let paid = g.f.chance(0.12);
        let open = if paid {
            Decimal::ZERO
        } else {
            total + collection + interest
        };
        let mut case = CreditCase {
            labels: if g.f.chance(0.3) {
                thin_vec::thin_vec![Label {
                    name: g
                        .f
                        .pick(&["betalingsregeling", "disputed", "vip", "incasso-bureau"])
                        .to_string(),
                }]
            } else {
                ThinVec::new()
            },
            debt_collection_costs: collection,
            open_interest_and_collection_costs: if paid { Decimal::ZERO } else { collection + interest },
            total_amount: total + collection + interest,
            open_amount: open,
            interest_costs: interest,
            forwarded_to_bailiff_at: if stage >= 8 { step(8) } else { None },
            notice_of_default_at: if stage >= 6 { step(6) } else { None },
            pre_judicial_at: if stage >= 7 { step(7) } else { None },
            pre_summons_at: step(0),
            paused_at: if stage == 3 && g.f.chance(0.5) { step(3) } else { None },
            deactivated_at: if paid || (stage == 2 && g.f.chance(0.3)) {
                step(stage as i64)
            } else {
                None
            },
            first_summons_at: if stage >= 1 { step(1) } else { None },
            summons_1_at: if stage >= 1 { step(1) } else { None },
            summons_2_at: if stage >= 2 { step(2) } else { None },
            summons_3_at: if stage >= 3 { step(3) } else { None },
            summons_4_at: if stage >= 4 { step(4) } else { None },
            invoice_ids: overdue.iter().map(|&n| invoices[n].id).collect(),
            ..CreditCase::new(admin, id, case_number, d.id, started)
        };
        case.latest_summons_at = [
            case.summons_4_at,
            case.summons_3_at,
            case.summons_2_at,
            case.summons_1_at,
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|t| {
            if case.notice_of_default_at.is_some() {
                Stamp::new(t.at() + Duration::days(1))
            } else {
                t
            }
        });
        case.updated_at = [
            Some(Stamp::new(case.started_at)),
            case.latest_summons_at,
            case.notice_of_default_at,
            case.pre_judicial_at,
            case.forwarded_to_bailiff_at,
            case.paused_at,
            case.deactivated_at,
        ]
        .into_iter()
        .flatten()
        .max()
        .map_or(started, Stamp::at)
        .min(g.f.anchor_at(0));
        for &n in &overdue {
            invoices[n].active_credit_case_id = Some(id);
            if paid {
                invoices[n].open_amount = Decimal::ZERO;
            }
            invoices[n].updated_at = invoices[n].updated_at.max(case.updated_at);
        }
        case_number += 1;
        cases.push(case);
    }

    // Payment plans in every state, for debtors with open invoices: each state a plan is seeded
    // in, and whether an active one was activated automatically (without a proposal's approval).
    use PlanState::{Active, Deactivated, Proposed, Rejected};
    let states = [
        (Active, false),
        (Active, false),
        (Active, false),
        (Proposed, false),
        (Proposed, false),
        (Active, true),
        (Rejected, false),
        (Deactivated, false),
        (Deactivated, false),
        (Active, false),
        (Proposed, false),
        (Rejected, false),
    ];
    let mut plans: Vec<PaymentPlan> = Vec::new();
    let mut used = std::collections::HashSet::new();
    for (state, auto) in states {
        let candidates: Vec<usize> = invoices
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.open_amount > Decimal::ZERO && i.active_payment_plan_id.is_none() && !used.contains(&i.debtor_id)
            })
            .map(|(n, _)| n)
            .collect();
        if candidates.is_empty() {
            break;
        }
        let first = *g.f.pick(&candidates);
        let debtor_id = invoices[first].debtor_id;
        used.insert(debtor_id);
        let covered: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&n| invoices[n].debtor_id == debtor_id)
            .collect();
        let total: Decimal = covered.iter().map(|&n| invoices[n].open_amount).sum();
        let id = g.id();
        let created = at(g.f.date_around(-150, -45), &mut g.f);
        let n_terms = g.f.int(2, 6);
        let per = (total / Decimal::from(n_terms)).round_dp(2);
        let mut terms = Vec::new();
        for k in 0..n_terms {
            let amount = if k + 1 == n_terms {
                total - per * Decimal::from(n_terms - 1)
            } else {
                per
            };
            let due = shift(created.date_naive(), 30 * (k as i64 + 1));
            // An active plan's terms that fell due were paid, but some of the last two weeks':
            // a term missed longer ago would have deactivated the plan (`lifecycle.rs`).
            let drawn = state == Active && !auto && due < g.f.anchor() && g.f.chance(0.8);
            let early = if drawn { g.f.int(0, 5) as i64 } else { 0 };
            let paid = drawn || (state == Active && due < shift(g.f.anchor(), -15));
            terms.push(PaymentTerm {
                id: g.id(),
                total_amount: amount,
                amount_due: if paid { Decimal::ZERO } else { amount },
                due_date: due,
                payment_date: paid.then(|| shift(due, -early)),
            });
        }
        let user = g.f.pick(users).clone();
        let decided = created + Duration::days(g.f.int(1, 4) as i64);
        let active = state == Active;
        let plan = PaymentPlan {
            payment_terms: terms,
            active,
            auto_activated: auto,
            reason: (auto || matches!(state, Proposed | Rejected)).then(|| {
                g.f.pick(&[
                    "Tijdelijk minder inkomsten",
                    "Wachten op betaling van klant",
                    "Seizoensgebonden omzet",
                    "Hoge onverwachte kosten",
                ])
                .to_string()
            }),
            rejected_by_user: (state == Rejected).then(|| user.clone()),
            administration_id: admin,
            debtor_id,
            id,
            approved_at: matches!(state, Active | Deactivated).then_some(if auto { created } else { decided }),
            created_at: created,
            deactivated_at: (state == Deactivated).then(|| decided + Duration::days(40)),
            updated_at: match state {
                Deactivated => decided + Duration::days(40),
                Proposed => created,
                _ => decided,
            }
            .min(g.f.anchor_at(0)),
            proposed_at: (auto || matches!(state, Proposed | Rejected)).then_some(created),
            rejected_at: (state == Rejected).then_some(decided),
            public_url: public_url(id),
            invoice_ids: covered.iter().map(|&n| invoices[n].id).collect(),
            credit_case_ids: Vec::new(),
            cc_email_address: None,
            expired_term_ids: Vec::new(),
        };
        debug_assert_eq!(
            PlanState::of(&plan),
            state,
            "a seeded plan is in the state it was seeded in"
        );
        if active {
            for &n in &covered {
                invoices[n].active_payment_plan_id = Some(id);
                invoices[n].updated_at = invoices[n].updated_at.max(plan.updated_at);
            }
            for c in cases
                .iter_mut()
                .filter(|c| c.debtor_id == debtor_id && c.open_amount > Decimal::ZERO)
            {
                if c.active_payment_plan_id.is_none() {
                    c.active_payment_plan_id = Some(id);
                    c.payment_plan_id = Some(id);
                }
            }
        }
        plans.push(plan);
    }

    // Notifications about debtors, invoices, cases and the administration.
    let kinds = [
        ("mail_bounced", "debtor"),
        ("mail_bounced", "invoice"),
        ("mail_bounced", "credit_case"),
        ("debtor_new_comment", "debtor"),
        ("invoice_new_comment", "invoice"),
        ("payment_plan_proposed", "debtor"),
        ("case_to_bailiff", "credit_case"),
        ("letter_returned", "invoice"),
        ("import_failed", "administration"),
    ];
    let mut notifications = Vec::new();
    for _ in 0..(40 + g.f.int(0, 20)) {
        let (kind, resource) = *g.f.pick(&kinds);
        let id = g.id();
        let (debtor_id, invoice_id, credit_case_id) = match resource {
            "debtor" => (Some(g.f.pick(&debtors).id), None, None),
            "invoice" => {
                let i = g.f.pick(&invoices);
                (Some(i.debtor_id), Some(i.id), None)
            }
            "credit_case" if !cases.is_empty() => {
                let c = g.f.pick(&cases);
                (Some(c.debtor_id), None, Some(c.id))
            }
            _ => (None, None, None),
        };
        let resource = if resource == "credit_case" && credit_case_id.is_none() {
            "administration"
        } else {
            resource
        };
        let created = at(g.f.date_around(-90, -1), &mut g.f);
        let acknowledged = g.f.chance(0.4);
        let ack_at = acknowledged.then(|| created + Duration::hours(g.f.int(1, 72) as i64));
        let user = g.f.pick(users).clone();
        notifications.push(Notification {
            notification_type: kind.into(),
            resource_type: resource.into(),
            acknowledged_by_user: acknowledged.then_some(user),
            details: Details {
                bounce_reason: (kind == "mail_bounced").then(|| {
                    g.f.pick(&[
                        "550 5.1.1 The email account that you tried to reach does not exist",
                        "552 5.2.2 Mailbox full",
                        "554 5.7.1 Message rejected as spam",
                    ])
                    .to_string()
                }),
            },
            credit_case_id,
            debtor_id: if resource == "administration" { None } else { debtor_id },
            administration_id: admin,
            id,
            invoice_id,
            created_at: created,
            acknowledged_at: ack_at,
            updated_at: ack_at.unwrap_or(created).min(g.f.anchor_at(0)),
        });
    }

    for i in invoices {
        crate::seed::put(&mut db.invoices, i);
    }
    for c in cases {
        crate::seed::put(&mut db.credit_cases, c);
    }
    for p in plans {
        crate::seed::put(&mut db.payment_plans, p);
    }
    for n in notifications {
        crate::seed::put(&mut db.notifications, n);
    }
}

/// Which fixtures of the other resources to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Everything (the first block of a size of at least 1).
    All,
    /// Only the administration's configuration: its company, VAT rates and payment conditions.
    Reference,
    /// Only what belongs to the block's debtors (the further blocks).
    Data,
}

/// The fixtures of every other resource, in a fixed order (the order is part of the seed).
fn seed_resources(g: &mut Gen, db: &mut Db, admin: u64, part: Part) {
    use crate::resources::*;
    let reference = part != Part::Data;
    let data = part != Part::Reference;
    if reference {
        companies::seed(g, db, admin);
    }
    if data {
        debtors::seed(g, db, admin);
        contacts::seed(g, db, admin);
        payments::seed(g, db, admin);
    }
    if reference {
        vat_rates::seed(g, db, admin);
        payment_conditions::seed(g, db, admin);
    }
    if data {
        files::seed(g, db, admin);
        orders::seed(g, db, admin);
        credit_cases::seed_deleted(g, db, admin);
        payment_plans::seed_deleted(g, db, admin);
        messages::seed(g, db, admin);
        notes::seed(g, db, admin);
        tasks::seed(g, db, admin);
        psp_mandates::seed(g, db, admin);
        psp_transactions::seed(g, db, admin);
    }
    if reference {
        sign_up::seed(g, db, admin);
    }
}

/// Dutch statutory collection costs (WIK): 15% of the first 2,500 (at least 40), 10% of the next
/// 2,500, 5% of the next 5,000, 1% above.
pub(crate) fn wik(principal: Decimal) -> Decimal {
    let bands = [(2_500, 15), (2_500, 10), (5_000, 5), (190_000, 1)];
    let mut rest = principal;
    let mut cost = Decimal::ZERO;
    for (size, pct) in bands {
        let part = rest.min(Decimal::from(size));
        if part <= Decimal::ZERO {
            break;
        }
        cost += part * Decimal::from(pct) / Decimal::from(100);
        rest -= part;
    }
    cost.max(Decimal::from(40)).min(Decimal::from(6_775)).round_dp(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `db`, serialized in a fixed order.
    fn dump(db: &Db) -> String {
        fn all<V: serde::Serialize + mock_core::Record>(out: &mut String, rows: impl Iterator<Item = V>) {
            for r in rows {
                *out += &serde_json::to_string(&r).expect("serializes");
            }
        }
        let mut out = String::new();
        all(&mut out, db.administrations.iter(&()).cloned());
        all(&mut out, db.companies.iter(&()).cloned());
        all(&mut out, db.sign_ups.iter(&()).cloned());
        for a in [81, 82, 83] {
            all(&mut out, db.debtors.iter(&a).cloned());
            all(&mut out, db.contacts.iter(&a).cloned());
            all(&mut out, db.invoices.iter(&a).cloned());
            all(&mut out, db.deleted_invoices.iter(&a).cloned());
            all(&mut out, db.payments.iter(&a).cloned());
            all(&mut out, db.deleted_payments.iter(&a).cloned());
            all(&mut out, db.credit_cases.iter(&a).cloned());
            all(&mut out, db.deleted_credit_cases.iter(&a).cloned());
            all(&mut out, db.payment_plans.iter(&a).cloned());
            all(&mut out, db.deleted_payment_plans.iter(&a).cloned());
            all(&mut out, db.notifications.iter(&a).cloned());
            all(&mut out, db.notes.iter(&a).cloned());
            all(&mut out, db.messages.iter(&a).cloned());
            all(&mut out, db.tasks.iter(&a).cloned());
            all(&mut out, db.vat_rates.iter(&a).cloned());
            all(&mut out, db.payment_conditions.iter(&a).cloned());
            all(&mut out, db.files.iter(&a).cloned());
            all(&mut out, db.orders.iter(&a).cloned());
            all(&mut out, db.order_lines.iter(&a).cloned());
            all(&mut out, db.psp_mandates.iter(&a).cloned());
            all(&mut out, db.deleted_psp_mandates.iter(&a).cloned());
            all(&mut out, db.psp_transactions.iter(&a).cloned());
        }
        out
    }

    fn anchor() -> DateTime<Utc> {
        fixtures::at_hour(ANCHOR, 0)
    }

    const ANCHOR: NaiveDate = mock_core::testing::ANCHOR_DATE;

    /// Settling remembers each record's step (`lifecycle::Remembered`): the fixtures, and a
    /// world run on for 400 days from them, come out exactly as when every step is found afresh.
    #[test]
    fn remembered_steps_settle_as_steps_found_afresh() {
        let afresh = |f: &dyn Fn() -> (Db, u64)| {
            crate::lifecycle::SETTLE_AFRESH.set(true);
            let out = f();
            crate::lifecycle::SETTLE_AFRESH.set(false);
            out
        };
        let (a, last_a) = afresh(&|| generate(7, ANCHOR));
        let (b, last_b) = generate(7, ANCHOR);
        assert_eq!((last_a, dump(&a)), (last_b, dump(&b)));
        let until = anchor() + chrono::Duration::days(400);
        let run_on = || crate::lifecycle::settle(b.clone(), 7, last_b + 1, until);
        let (c, next_c) = afresh(&run_on);
        let (d, next_d) = run_on();
        assert_eq!((next_c, dump(&c)), (next_d, dump(&d)));
        assert!(next_d > last_b + 1, "the rules made records in 400 days");
        assert_ne!(dump(&d), dump(&b), "the rules moved records in 400 days");
    }

    /// Cases the rules open continue their administration's numbering: 1, 2, ... without a gap
    /// or a repeat (the next number is found by the case-number index, not by a scan).
    #[test]
    fn cases_the_rules_open_continue_the_case_numbers() {
        let (db, last) = generate(7, ANCHOR);
        let before: usize = [81, 82].iter().map(|a| db.credit_cases.scope_len(a)).sum();
        let until = anchor() + chrono::Duration::days(400);
        let (db, _) = crate::lifecycle::settle(db, 7, last + 1, until);
        let after: usize = [81, 82].iter().map(|a| db.credit_cases.scope_len(a)).sum();
        assert!(after > before, "the rules opened cases in 400 days");
        for admin in [81, 82] {
            let mut numbers: Vec<u64> = db
                .credit_cases
                .iter(&admin)
                .map(|c| c.case_number.parse().expect("a number"))
                .collect();
            numbers.sort_unstable();
            let n = numbers.len() as u64;
            assert_eq!(numbers, (1..=n).collect::<Vec<_>>(), "administration {admin}");
        }
    }

    #[test]
    fn same_seed_and_anchor_give_byte_identical_data() {
        let (a, last_a) = generate(7, ANCHOR);
        let (b, last_b) = generate(7, ANCHOR);
        assert_eq!(last_a, last_b);
        assert_eq!(dump(&a), dump(&b));
        let (c, _) = generate(8, ANCHOR);
        assert_ne!(dump(&a), dump(&c));
    }

    #[test]
    fn the_data_moves_with_the_anchor_date() {
        let later = shift(ANCHOR, 504);
        let (a, last_a) = generate(7, ANCHOR);
        let (b, last_b) = generate(7, later);
        assert_eq!(last_a, last_b, "the same records, only dated otherwise");
        assert_ne!(dump(&a), dump(&b));
        for admin in [81, 82] {
            let xs: Vec<_> = a
                .invoices
                .iter(&admin)
                .map(|i| (i.id, i.invoice_date, i.due_date))
                .collect();
            let ys: Vec<_> = b
                .invoices
                .iter(&admin)
                .map(|i| (i.id, i.invoice_date, i.due_date))
                .collect();
            assert_eq!(xs.len(), ys.len());
            for ((id, d, due), (id2, d2, due2)) in xs.into_iter().zip(ys) {
                assert_eq!(id, id2);
                assert_eq!((d2 - d).num_days(), 504, "invoice {id}");
                assert_eq!((due2 - due).num_days(), 504, "invoice {id}");
            }
            for t in b.deleted_invoices.iter(&admin) {
                assert!(
                    t.deleted_at < fixtures::at_hour(later, 0),
                    "a tombstone before the anchor"
                );
                assert!(
                    t.deleted_at > fixtures::at_hour(shift(later, -90), 0),
                    "inside the 90-day window"
                );
            }
        }
    }

    #[test]
    fn fixtures_are_realistic_and_related() {
        let (db, _) = generate(42, ANCHOR);
        assert_eq!(db.administrations.len(), 3);
        for admin in [81, 82, 83] {
            assert!(db.debtors.scope_len(&admin) >= 100);
            assert!(db.invoices.scope_len(&admin) >= 200);
            assert!(db.credit_cases.scope_len(&admin) >= 10, "admin {admin}");
            assert!(db.notifications.scope_len(&admin) >= 40);
            for c in db.credit_cases.iter(&admin) {
                assert!(db.debtors.get(&admin, &c.debtor_id.to_string()).is_some());
                assert!(c.started_at <= anchor());
                for ts in [c.summons_1_at, c.notice_of_default_at, c.forwarded_to_bailiff_at]
                    .into_iter()
                    .flatten()
                {
                    assert!(ts.at() <= anchor(), "case {} has a stage in the future", c.id);
                }
                for i in &c.invoice_ids {
                    let inv = db.invoices.get(&admin, &i.to_string()).expect("case invoice exists");
                    assert_eq!(inv.active_credit_case_id, Some(c.id));
                    assert_eq!(inv.debtor_id, c.debtor_id);
                }
            }
            let states: std::collections::HashSet<&str> = db
                .payment_plans
                .iter(&admin)
                .map(|p| {
                    match (
                        p.active,
                        p.auto_activated,
                        p.rejected_at,
                        p.deactivated_at,
                        p.approved_at,
                    ) {
                        (true, true, ..) => "auto",
                        (true, false, ..) => "active",
                        (false, _, Some(_), ..) => "rejected",
                        (false, _, _, Some(_), _) => "deactivated",
                        (false, _, _, _, None) => "proposed",
                        _ => "other",
                    }
                })
                .collect();
            for s in ["auto", "active", "rejected", "deactivated", "proposed"] {
                assert!(states.contains(s), "admin {admin} has no {s} payment plan: {states:?}");
            }
            for p in db.payment_plans.iter(&admin) {
                for i in &p.invoice_ids {
                    let inv = db.invoices.get(&admin, &i.to_string()).expect("plan invoice exists");
                    assert_eq!(inv.debtor_id, p.debtor_id);
                    if p.active {
                        assert_eq!(inv.active_payment_plan_id, Some(p.id));
                    }
                }
            }
        }
    }

    #[test]
    fn invoice_numbers_never_meet_the_deleted_ones() {
        let g = |size| Gen {
            f: Faker::new(1, ANCHOR),
            next: FIRST_ID,
            users: Vec::new(),
            numbering: Numbering::default(),
            size,
        };
        assert_eq!(g(1).invoice_number(1), "202600001");
        assert_eq!(g(1).invoice_number(89_999), "202689999");
        assert_eq!(g(1).deleted_invoice_number(0), "202690000");
        assert_eq!(g(1).invoice_number(90_000), "202690010");
        let g3 = g(3);
        let deleted: std::collections::HashSet<String> = (0..TOMBSTONES_PER_BLOCK * 3)
            .map(|t| g3.deleted_invoice_number(t))
            .collect();
        assert!((1..200_000).all(|n| !deleted.contains(&g3.invoice_number(n))));
    }

    #[test]
    fn wik_follows_the_bands() {
        assert_eq!(wik(Decimal::from(100)), Decimal::from(40));
        assert_eq!(wik(Decimal::from(2_500)), Decimal::from(375));
        assert_eq!(wik(Decimal::from(5_000)), Decimal::from(625));
    }
}
