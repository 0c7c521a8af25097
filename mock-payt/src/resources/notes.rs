//! Notes: `GET /v1/notes` (read-only; the spec has no show route and no write).
//!
//! A note is an internal remark on a debtor, one of its invoices or one of its credit cases,
//! written by a Payt user (`user` set) or mailed to the record's internal-note address
//! (`from_email_address` set, `user` null). A note can be marked completed in the Payt interface
//! (`completed_at`).

use axum::Router;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::list;
use crate::resources::User;
use crate::seed::{Gen, Targets};
use crate::state::{AppState, Db};

/// Properties shown only when `fields` asks for them (none for notes).
pub const OPT_IN: &[&str] = &[];

/// `CustomerApi_V1_NoteEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The credit case it is on.
    #[serde(with = "crate::format::opt_id")]
    pub credit_case_id: Option<u64>,
    /// The debtor it is on.
    #[serde(with = "crate::format::opt_id")]
    pub debtor_id: Option<u64>,
    /// The address it was mailed from.
    pub from_email_address: Option<String>,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// The invoice it is on.
    #[serde(with = "crate::format::opt_id")]
    pub invoice_id: Option<u64>,
    /// The text.
    pub content: String,
    /// Who wrote it.
    pub user: Option<User>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Marked completed.
    #[serde(with = "crate::format::opt_ts")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

administration_record!(Note, changed = updated_at);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/notes",
        list::list_route("notes:read", OPT_IN, |db| &db.notes, list::related),
    )
}

impl list::Related for Note {
    fn related(&self) -> (Option<u64>, Option<u64>, Option<u64>) {
        (self.debtor_id, self.invoice_id, self.credit_case_id)
    }
}

const BY_USER: &[&str] = &[
    "Debiteur gebeld, belooft voor het einde van de week te betalen.",
    "Voicemail ingesproken, terugbelverzoek gedaan.",
    "Klant betwist de hoogte van de rente; doorgestuurd naar financiele administratie.",
    "Afspraak gemaakt: helft nu, rest over 30 dagen.",
    "Contactpersoon is met zwangerschapsverlof, vervanger is de controller.",
    "Creditnota toegezegd voor de retourzending, vordering tijdelijk gepauzeerd.",
    "Adres gecontroleerd bij KvK, correspondentie loopt voortaan naar het vestigingsadres.",
];

const BY_MAIL: &[&str] = &[
    "Doorgestuurd: betaalbewijs van de klant in de bijlage.",
    "Doorgestuurd: klacht over de levering van de laatste bestelling.",
    "Doorgestuurd: verzoek om kopiefactuur.",
    "Doorgestuurd: faillissementsbericht van de curator.",
];

/// Adds 30 to 55 notes for administration `admin`, on debtors, invoices and credit cases; about a
/// third mailed in (with `from_email_address`), a quarter completed.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let about = Targets::of(db, admin);
    if about.debtors.is_empty() || g.users.is_empty() {
        return;
    }
    let anchor = g.f.anchor_at(0);
    let users = g.users.clone();
    for _ in 0..(30 + g.f.int(0, 25)) {
        let (debtor_id, invoice_id, credit_case_id) = match g.f.int(0, 2) {
            0 => about.debtor(g),
            1 if !about.invoices.is_empty() => about.invoice(g),
            _ => about.case(g),
        };
        let mailed = g.f.chance(0.35);
        let (content, user, from) = if mailed {
            let p = g.f.nl_person();
            (g.f.pick(BY_MAIL).to_string(), None, Some(p.email))
        } else {
            (g.f.pick(BY_USER).to_string(), Some(g.f.pick(&users).clone()), None)
        };
        let day = g.f.date_around(-150, -1);
        let created = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()
            + Duration::seconds(g.f.int(8 * 3600, 18 * 3600) as i64);
        let completed_at =
            g.f.chance(0.25)
                .then(|| (created + Duration::hours(g.f.int(1, 24 * 20) as i64)).min(anchor));
        let id = g.id();
        crate::seed::put(
            &mut db.notes,
            Note {
                administration_id: admin,
                credit_case_id,
                debtor_id: Some(debtor_id),
                from_email_address: from,
                id,
                invoice_id,
                content,
                user,
                created_at: created,
                completed_at,
                updated_at: completed_at.unwrap_or(created),
            },
        );
    }
}
