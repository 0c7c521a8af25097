//! The fixtures only v2 has, drawn from their own generator (seed and anchor as the rest, so they
//! change nothing v1 shows of the other fixtures): in each access mode of the fixture company, on
//! fixture debtors with a complete address,
//! - a `titled` order, submitted on the day before the anchor date (so the fixtures' settling,
//!   [`crate::seed::settle`], leaves it submitted: its review falls due on the anchor date), with
//!   one titled claim whose enforceable title is complete and has its `enforceable_title`
//!   document;
//! - a `rental` order, a draft, with its agreement (contract date, warm rent, the property, the
//!   due rule) and two H19 rent claims for consecutive months;
//! - an `invoice` order awaiting the client's answer to a `fileupload` request, with two claims
//!   and a message the client wrote;
//! - a message paywise published on the first mandate.
//!
//! Their claims are v1 claims too (v1 lists them, `released` or `created`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use fixtures::{Faker, shift};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::format::Money;
use crate::resources::claims::{Claim, SubmissionState};
use crate::resources::files;
use crate::state::{AccessMode, Db, Scope};
use crate::v2::claims::{ClaimV2, LegalBasis, Title};
use crate::v2::documents::Document;
use crate::v2::messages::Message;
use crate::v2::orders::{Order, OrderStatus, PropertyAddress, RentalAgreement};
use crate::v2::requests::OrderRequest;

const SUBJECTS: &[&str] = &[
    "Lieferung Büromöbel",
    "Wartungsvertrag Heizungsanlage",
    "Webdesign und Hosting",
    "Reparatur Firmenfahrzeug",
    "Softwarelizenz Jahresabo",
];
const COURTS: &[&str] = &[
    "Amtsgericht Hagen",
    "Amtsgericht Wedding",
    "Amtsgericht Coburg",
    "Amtsgericht Uelzen",
];

fn uuid(f: &mut Faker) -> Uuid {
    uuid::Builder::from_random_bytes(f.bytes16()).into_uuid()
}

fn at(f: &mut Faker, days: i64) -> DateTime<Utc> {
    f.anchor_at(10) + Duration::days(days) + Duration::seconds(f.int(0, 6 * 3600) as i64)
}

struct Gen<'a> {
    f: Faker,
    seq: &'a mut u64,
}

impl Gen<'_> {
    fn seq(&mut self) -> u64 {
        *self.seq += 1;
        *self.seq
    }
}

#[allow(clippy::too_many_arguments)]
fn claim(
    g: &mut Gen<'_>,
    scope: Scope,
    order: &Order,
    kind: &str,
    principal: Decimal,
    document_date: Option<NaiveDate>,
    subject: &str,
    state: SubmissionState,
    created: DateTime<Utc>,
    legal_basis: LegalBasis,
    title: Option<Title>,
) -> Claim {
    let id = uuid(&mut g.f);
    let reference = format!("RE-{}", g.f.int(100_000, 999_999));
    Claim {
        seq: g.seq(),
        scope,
        id,
        submission_state: state,
        debtor: order.debtor_id,
        mandate: None,
        your_reference: Some(format!("v2-{}", &id.simple().to_string()[..8])),
        subject_matter: Some(subject.into()),
        occurence_date: legal_basis.contract_date,
        document_reference: Some(reference),
        document_date,
        due_date: document_date.map(|d| shift(d, 14)),
        reminder_date: None,
        delay_date: document_date.map(|d| shift(d, 15)),
        total_claim_amount: Money::eur(principal),
        main_claim_amount: Money::eur(principal),
        items: Vec::new(),
        additional_charges_amount: Money::eur(Decimal::ZERO),
        additional_charges: Vec::new(),
        payments: Vec::new(),
        starting_approach: order
            .starting_approach
            .clone()
            .unwrap_or_else(|| "extrajudicial".into()),
        claim_disputed: false,
        obligation_fulfilled: order.creditor_obligation_fulfilled.unwrap_or(true),
        documents: Vec::new(),
        metadata: Vec::new(),
        events: Vec::new(),
        created,
        updated: created,
        v2: Some(Box::new(ClaimV2 {
            kind: kind.into(),
            order_id: order.id,
            dispute_reason: None,
            items: Vec::new(),
            reminders: Vec::new(),
            legal_basis,
            title,
            withdrawn: false,
            due_derived: false,
        })),
    }
}

fn order(
    g: &mut Gen<'_>,
    scope: Scope,
    kind: &str,
    status: OrderStatus,
    debtor: Uuid,
    created: DateTime<Utc>,
) -> Order {
    Order {
        seq: g.seq(),
        scope,
        id: uuid(&mut g.f),
        kind: kind.into(),
        status,
        debtor_id: debtor,
        additional_debtor_ids: Vec::new(),
        confirmation_email: Some("forderungen@example.de".into()),
        starting_approach: (kind != "titled").then(|| "extrajudicial".into()),
        creditor_obligation_fulfilled: (kind != "titled").then_some(true),
        success_fee_confirmed: kind == "titled",
        rental_agreement: None,
        mandate: None,
        merged_into: None,
        rejection: None,
        expires_at: status.is_draft().then(|| created + crate::v2::orders::DRAFT_LIFETIME),
        review_started: false,
        from_v1: false,
        created_at: created,
        updated_at: created,
    }
}

#[allow(clippy::too_many_arguments)]
fn document(
    g: &mut Gen<'_>,
    scope: Scope,
    kind: &str,
    name: &str,
    parent: (&str, Uuid),
    claim: Option<Uuid>,
    base: &str,
    at: DateTime<Utc>,
) -> Document {
    let id = uuid(&mut g.f);
    Document {
        seq: g.seq(),
        scope,
        id,
        kind: kind.into(),
        status: crate::v2::documents::DocumentStatus::Ready,
        failure_reason: None,
        filename: name.into(),
        mime_type: "application/pdf".into(),
        parent_type: parent.0.into(),
        parent_id: parent.1,
        claim,
        path: format!("{base}{id}/"),
        bytes: files::generated_pdf(name),
        created_at: at,
        updated_at: at,
    }
}

fn put<V: mock_core::Record>(table: &mut mock_core::Table<V>, record: V) {
    if let Err(e) = table.insert(record) {
        tracing::warn!("v2 fixture not stored: {e}");
    }
}

/// Adds the v2 fixtures of `seed` (see the module docs) to `db`.
pub fn seed(db: &mut Db, seq: &mut u64, seed: u64, anchor: NaiveDate) {
    let mut g = Gen {
        f: Faker::new(seed ^ 0x7632_6669_7874_7572, anchor),
        seq,
    };
    for mode in [AccessMode::Test, AccessMode::Production] {
        let scope = Scope {
            company: crate::seed::COMPANY,
            mode,
        };
        let mut debtors: Vec<(u64, Uuid)> = db
            .debtors
            .iter(&scope)
            .filter(|d| crate::v2::debtors::has_complete_address(d))
            .map(|d| (d.seq, d.id))
            .collect();
        debtors.sort();
        if debtors.len() < 3 {
            continue;
        }
        let pick = |g: &mut Gen<'_>| debtors[g.f.int(0, debtors.len() as u64 - 1) as usize].1;

        // A titled order, submitted the day before the anchor date: its review (a day after the
        // submission, crate::lifecycle) is not due by the anchor's midnight, up to which the
        // fixtures are settled, so it stays submitted.
        let created = at(&mut g.f, -1);
        let debtor = pick(&mut g);
        let mut titled = order(&mut g, scope, "titled", OrderStatus::Submitted, debtor, created);
        titled.expires_at = None;
        let issued = shift(anchor, -(g.f.int(200, 700) as i64));
        let amount = g.f.amount(300, 4000);
        let title = Title {
            id: uuid(&mut g.f),
            title_type: Some("enforcement_order".into()),
            amount: Some(amount),
            file_number: Some(format!(
                "{}-{}-0-{}",
                issued.year() % 100,
                g.f.int(1_000_000, 9_999_999),
                g.f.int(1, 9)
            )),
            issuing_authority: Some((*g.f.pick(COURTS)).into()),
            issued_on: Some(issued),
            legally_binding_since: Some(shift(issued, 21)),
            served_on: Some(shift(issued, 5)),
            created_at: created,
            updated_at: created,
        };
        let title_id = title.id;
        let subject = *g.f.pick(SUBJECTS);
        let c = claim(
            &mut g,
            scope,
            &titled,
            "titled",
            amount,
            None,
            subject,
            SubmissionState::Released,
            created,
            LegalBasis::default(),
            Some(title),
        );
        let base = format!("/v2/claims/{}/enforceable-title/documents/", c.id);
        let doc = document(
            &mut g,
            scope,
            "enforceable_title",
            "Vollstreckungsbescheid.pdf",
            ("enforceable_title", title_id),
            Some(c.id),
            &base,
            created,
        );
        put(&mut db.v2_documents, doc);
        put(&mut db.claims, c);
        put(&mut db.v2_orders, titled);

        // A rental order, a draft, two months of rent.
        let created = at(&mut g.f, -3);
        let debtor = pick(&mut g);
        let mut rental = order(&mut g, scope, "rental", OrderStatus::Draft, debtor, created);
        let contract = shift(anchor, -(g.f.int(400, 1500) as i64));
        let rent = g.f.amount(600, 1600);
        rental.rental_agreement = Some(RentalAgreement {
            id: uuid(&mut g.f),
            contract_date: Some(contract),
            monthly_rent: Some(rent),
            property_address: Some(PropertyAddress {
                street: format!("Lindenallee {}", g.f.int(1, 120)),
                postal_code: format!("{:05}", g.f.int(10_000, 99_999)),
                city: "Leipzig".into(),
                country: "DE".into(),
            }),
            due_rule: None,
            created_at: created,
            updated_at: created,
        });
        let first = shift(anchor, -70).with_day(1).unwrap_or(anchor);
        for month in [first, shift(first, 35).with_day(1).unwrap_or(first)] {
            let basis = LegalBasis {
                claim_type_code: Some("H19".into()),
                contract_date: Some(contract),
                description: Some("Wohnraummiete inkl. Nebenkostenvorauszahlung".into()),
            };
            let mut c = claim(
                &mut g,
                scope,
                &rental,
                "receivable",
                rent,
                Some(month),
                "Miete",
                SubmissionState::Created,
                created,
                basis,
                None,
            );
            let due = crate::v2::orders::rent_due(month, None);
            c.due_date = Some(due);
            c.delay_date = due.succ_opt();
            if let Some(x) = c.v2.as_mut() {
                x.due_derived = true;
            }
            put(&mut db.claims, c);
        }
        put(&mut db.v2_orders, rental);

        // An invoice order awaiting the client's answer, with a client message.
        let created = at(&mut g.f, -12);
        let debtor = pick(&mut g);
        let mut invoice = order(
            &mut g,
            scope,
            "invoice",
            OrderStatus::AwaitingClientResponse,
            debtor,
            created,
        );
        invoice.expires_at = None;
        for _ in 0..2 {
            let principal = g.f.amount(80, 2500);
            let doc_date = shift(anchor, -(g.f.int(60, 180) as i64));
            let subject = *g.f.pick(SUBJECTS);
            let basis = LegalBasis {
                claim_type_code: Some("H05".into()),
                contract_date: Some(doc_date),
                description: None,
            };
            let c = claim(
                &mut g,
                scope,
                &invoice,
                "receivable",
                principal,
                Some(doc_date),
                subject,
                SubmissionState::ClientResponsePending,
                created,
                basis,
                None,
            );
            put(&mut db.claims, c);
        }
        let asked = created + Duration::days(4);
        let question = files::generated_file(uuid(&mut g.f), g.seq(), scope, "Rueckfrage.pdf", "Rueckfrage", asked);
        let attachment = crate::resources::requests_to_client::FileRef::from(&question);
        put(&mut db.files, question);
        let request = OrderRequest {
            seq: g.seq(),
            scope,
            id: uuid(&mut g.f),
            order_id: invoice.id,
            title: "Rechnungskopie".into(),
            description: "Bitte laden Sie die Rechnung zur zweiten Forderung hoch.".into(),
            allowed_answer_types: "fileupload".into(),
            attachments: vec![attachment],
            answer: None,
            answer_review_started: false,
            created_at: asked,
            updated_at: asked,
        };
        put(&mut db.v2_order_requests, request);
        let message = Message {
            seq: g.seq(),
            scope,
            id: uuid(&mut g.f),
            parent_type: "order".into(),
            parent_id: invoice.id,
            title: "Teilzahlung angekündigt".into(),
            body: "<p>Der Schuldner hat eine Teilzahlung angekündigt.</p>".into(),
            author: "api".into(),
            state: crate::v2::messages::MessageState::UnderReview,
            review_started: false,
            response_to: None,
            history_entry: None,
            created_at: created + Duration::days(1),
            updated_at: created + Duration::days(1),
        };
        put(&mut db.v2_messages, message);
        put(&mut db.v2_orders, invoice);

        // paywise's own message on the first mandate.
        let first_mandate = db
            .mandates
            .iter(&scope)
            .min_by_key(|m| m.seq)
            .map(|m| (m.id, m.created));
        if let Some((mandate, opened)) = first_mandate {
            let when = opened + Duration::days(2);
            let message = Message {
                seq: g.seq(),
                scope,
                id: uuid(&mut g.f),
                parent_type: "mandate".into(),
                parent_id: mandate,
                title: "Mahnbescheid beantragt".into(),
                body: "<p>Wir haben den Mahnbescheid beim zentralen Mahngericht beantragt.</p>".into(),
                author: "paywise".into(),
                state: crate::v2::messages::MessageState::Published,
                review_started: true,
                response_to: None,
                history_entry: None,
                created_at: when,
                updated_at: when,
            };
            put(&mut db.v2_messages, message);
        }
    }
}
