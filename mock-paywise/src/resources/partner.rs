//! The Partner API (`/partner/v1/`): token info, companies, users and user invites.
//!
//! A partner onboards client companies: it creates a company, fills in its data until
//! `data_submission_completed` turns true (after which the company can no longer be changed
//! through the API), and creates users for it, either directly ("instant onboarding", which needs
//! the key permission `API_ONLY_ONBOARDING`) or by inviting them to paywise's web flow.
//!
//! A partner key then acts on the Case Management API for one of its users' companies with the
//! header `X-User-Id: <user id>` (see `act_for`); every company gets its own internal company
//! number, so what is created that way belongs to that company alone.
//!
//! The partner account's data lives in the database ([`Db`]) like every other resource: a
//! [`PartnerAccount`] record holds the account's counters, and its companies, users and invites
//! are the tables `partner_companies`, `partner_users` and `partner_invites`, scoped by the
//! account's id. A key's grant names its account by that id ([`PartnerKey::account`]), so the
//! partner's keys share the data. Mock-only control routes ([`control_router`]) verify a user's
//! e-mail address and finish an invite as paywise's web flow would.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use mock_core::auth::TokenRegistry;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::is_country;
use crate::error::PaywiseError;
use crate::list::{self, Filters, JsonBody, Origin, path_uuid};
use crate::resources::claims::{PkRef, pk_ref};
use crate::state::{AccessMode, AppState, Caller, Db, Grant, Scope, forbidden};
use crate::validate::{OPT, OPT_LIST, OPT_NOT_BLANK, OPT_NOT_NULL, OPT_OBJECT, Obj, REQ, looks_like_email};
use crate::vendor::LEGAL_REPRESENTATIVE_TYPES;

/// The fixture partner's key in test mode (with `API_ONLY_ONBOARDING`).
pub const PARTNER_TOKEN: &str = "paywise_partner_token";
/// The fixture partner's key in production mode (with `API_ONLY_ONBOARDING`).
pub const PARTNER_PRODUCTION_TOKEN: &str = "paywise_partner_live_token";
/// A test-mode key of the same partner without `API_ONLY_ONBOARDING`.
pub const PARTNER_RESTRICTED_TOKEN: &str = "paywise_partner_restricted_token";
/// The key permission that instant onboarding (`POST /partner/v1/users/`) needs.
pub const API_ONLY_ONBOARDING: &str = "API_ONLY_ONBOARDING";
/// The internal company number of the partner's first company; later ones count up.
pub const FIRST_COMPANY_NUMBER: u64 = 1001;
/// `tax_deduction_eligibility`: eligible, not eligible, reverse charge, third-country business.
pub const TAX_DEDUCTION: &[&str] = &["J", "N", "K", "A"];
/// Legal forms of sole proprietors, which need no `legal_representatives`.
pub(crate) const SOLE_PROPRIETOR_FORMS: &[&str] = &[
    "Einzelkaufmann",
    "Einzelunternehmen",
    "Einzelunternehmer",
    "e.K.",
    "Freiberufler",
    "Kleingewerbe",
];
/// Notification channel types.
pub(crate) const CHANNEL_TYPES: &[&str] = &["EMAIL"];
/// Notification types.
pub(crate) const NOTIFICATION_TYPES: &[&str] = &["REQUESTS_TO_CLIENT", "STATUS_UPDATE", "STATEMENTS"];
/// How long an invite stays open.
pub(crate) const INVITE_DAYS: i64 = 14;
/// The partner account's own user, as token info shows it.
pub(crate) const PARTNER_USER: (&str, &str, &str) = ("integration@partner.example", "Paula", "Partner");

/// The id of the fixture partner's account, which the fixture partner keys name.
pub const FIXTURE_ACCOUNT: u64 = 1;

/// Implements [`Record`] for a partner record: scoped by its partner account (partner data
/// knows no access mode), ordered by the partner records' own sequence numbers, keyed by its
/// UUID.
macro_rules! partner_record {
    ($t:ty $(, lookups = $lookups:expr)? $(, unique = $unique:expr)?) => {
        scoped_record!($t, scope: u64 = account $(, lookups = $lookups)? $(, unique = $unique)?);
    };
}

/// A company's postal address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyAddress {
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub zip: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A client company a partner onboards (the API shows it as `render_company` renders it;
/// `Serialize` is its storage form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// Creation order (partner records have their own numbering).
    pub seq: u64,
    /// The partner account.
    pub account: u64,
    /// Unique identifier.
    pub id: Uuid,
    /// The internal company number its Case Management data is scoped by.
    pub number: u64,
    /// Name.
    pub name: Option<String>,
    /// Phone (at most 50 characters).
    pub phone: Option<String>,
    /// Address.
    pub address: Option<CompanyAddress>,
    /// VAT number (needed when `tax_deduction_eligibility` is `K`).
    pub vat_number: Option<String>,
    /// Whether every required piece of data is present.
    pub data_submission_completed: bool,
    /// Default claim type, e.g. `H05`.
    pub default_claim_type: Option<String>,
    /// Legal form, e.g. `GmbH`.
    pub legal_form: Option<String>,
    /// `{type, name}` entries.
    pub legal_representatives: Vec<Value>,
    /// One of [`TAX_DEDUCTION`].
    pub tax_deduction_eligibility: Option<String>,
    /// Notification channels.
    pub notification_channels: Vec<Value>,
    /// IBAN.
    pub iban: Option<String>,
    /// What only the Partner API v2 knows of the company (see [`crate::v2::partner`]).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub v2: crate::v2::partner::CompanyV2,
}

// A company's internal number is unique within its account (an `external_reference` is unique
// only among the companies one environment sees: `company_conflicts` in v2/partner.rs).
partner_record!(
    Company,
    lookups = |r| {
        let mut keys = vec![("number", r.number.to_string())];
        keys.extend(
            r.v2.external_reference
                .iter()
                .map(|x| ("external_reference", x.clone())),
        );
        keys
    },
    unique = &["number"]
);

impl Company {
    /// A company as the Partner API creates it, before the body's fields are applied: nothing
    /// but the default claim type `H05` (v1 and v2 alike).
    pub fn blank(seq: u64, account: u64, id: Uuid, number: u64) -> Self {
        Company {
            seq,
            account,
            id,
            number,
            name: None,
            phone: None,
            address: None,
            vat_number: None,
            data_submission_completed: false,
            default_claim_type: Some("H05".into()),
            legal_form: None,
            legal_representatives: Vec::new(),
            tax_deduction_eligibility: None,
            notification_channels: Vec::new(),
            iban: None,
            v2: Default::default(),
        }
    }

    /// Whether every piece of data paywise requires is present.
    pub fn is_complete(&self) -> bool {
        let filled = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let reps_needed = self
            .legal_form
            .as_deref()
            .is_some_and(|f| !SOLE_PROPRIETOR_FORMS.contains(&f));
        filled(&self.name)
            && filled(&self.phone)
            && self.address.is_some()
            && filled(&self.legal_form)
            && filled(&self.tax_deduction_eligibility)
            && (self.tax_deduction_eligibility.as_deref() != Some("K") || filled(&self.vat_number))
            && (!reps_needed || !self.legal_representatives.is_empty())
    }
}

/// A user of a partner's company (the API shows it as `render_user` renders it; `Serialize` is
/// its storage form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Creation order (partner records have their own numbering).
    pub seq: u64,
    /// The partner account.
    pub account: u64,
    /// Unique identifier.
    pub id: Uuid,
    /// E-mail address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// The company's id.
    pub company: Uuid,
    /// Whether the e-mail address is verified.
    pub email_verified: bool,
    /// Notification channels.
    pub notification_channels: Vec<Value>,
}

// A user's address is unique within its account (compared case-insensitively).
partner_record!(
    User,
    lookups = |r| vec![
        ("email", r.email.to_ascii_lowercase()),
        ("company", r.company.to_string())
    ],
    unique = &["email"]
);

/// An invitation to paywise's web onboarding (the API shows it as `render_invite` renders it;
/// `Serialize` is its storage form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    /// Creation order (partner records have their own numbering).
    pub seq: u64,
    /// The partner account.
    pub account: u64,
    /// Unique identifier.
    pub id: Uuid,
    /// E-mail address.
    pub email: String,
    /// The company's id.
    pub company: Uuid,
    /// Where the web flow sends the user after success.
    pub success_url: String,
    /// Where the web flow sends the user after failure.
    pub failure_url: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// When the invite expires.
    pub expiry: DateTime<Utc>,
    /// `OPEN` or `COMPLETED` as stored (`EXPIRED` is derived from `expiry`, see
    /// [`Invite::status_at`]).
    pub status: InviteStatus,
    /// The user the finished web flow created.
    pub user: Option<Uuid>,
}

partner_record!(Invite, lookups = |r| vec![("email", r.email.to_ascii_lowercase())]);

state_enum! {
    /// A user invite's `status` (the Partner API spells them in capitals); see
    /// [`InviteStatus::next`].
    pub enum InviteStatus moved by InviteEvent {
        /// Waiting for the invited person to finish the web flow.
        Open = "OPEN",
        /// The web flow created the user (final).
        Completed = "COMPLETED",
        /// Not finished before its expiry (final; never stored, derived from `expiry`).
        Expired = "EXPIRED",
    }
}

/// What moves an [`InviteStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteEvent {
    /// The web flow finished: `OPEN -> COMPLETED`.
    Complete,
    /// The expiry passed: `OPEN -> EXPIRED`.
    Expire,
}

impl InviteStatus {
    /// Where `event` takes an invite in this status, or `None` where it is refused.
    pub fn next(self, event: InviteEvent) -> Option<Self> {
        match (self, event) {
            (InviteStatus::Open, InviteEvent::Complete) => Some(InviteStatus::Completed),
            (InviteStatus::Open, InviteEvent::Expire) => Some(InviteStatus::Expired),
            _ => None,
        }
    }
}

impl Invite {
    /// The status at `now`: an open invite past its expiry is `EXPIRED`.
    pub fn status_at(&self, now: DateTime<Utc>) -> InviteStatus {
        if now > self.expiry
            && let Some(expired) = self.status.next(InviteEvent::Expire)
        {
            expired
        } else {
            self.status
        }
    }
}

/// A partner account: what its keys share besides the records of its companies, users and
/// invites (which are scoped by its id), namely the counters those records are numbered by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerAccount {
    /// The account's id, which its keys name; also its position in creation order.
    pub id: u64,
    /// The sequence number the account's records last used (partner records are numbered from 1,
    /// across all accounts).
    pub last_seq: u64,
    /// How many companies the account has numbered: the next one is
    /// [`FIRST_COMPANY_NUMBER`] plus this.
    pub next_company: u64,
}

impl PartnerAccount {
    /// A new account with nothing numbered yet.
    pub fn new(id: u64) -> Self {
        Self {
            id,
            last_seq: 0,
            next_company: 0,
        }
    }
}

mock_core::unscoped_record!(PartnerAccount);

/// One partner account's data in the database: its companies, users, invites and counters.
impl Db {
    /// Changes the counters of `account` (made on first use: a key may name an account that has
    /// not stored anything yet).
    fn partner_counters<R>(&mut self, account: u64, change: impl FnOnce(&mut PartnerAccount) -> R) -> R {
        let mut a = self
            .partner_accounts
            .remove(&(), &account.to_string())
            .unwrap_or_else(|| PartnerAccount::new(account));
        let out = change(&mut a);
        // Put back where it was taken from: its key and sequence number were freed just above,
        // which are the only reasons a table refuses a record.
        let reinserted = self.partner_accounts.insert(a);
        debug_assert!(reinserted.is_ok(), "{reinserted:?}");
        out
    }

    /// The next sequence number of `account`'s records: one more than the last any account used,
    /// so that no two partner records share one (a table is stored in sequence order, which is
    /// then total). With one account, as the fixtures have, that is the account's own count.
    fn partner_seq(&mut self, account: u64) -> u64 {
        let last = self.partner_accounts.iter_all().map(|a| a.last_seq).max().unwrap_or(0);
        self.partner_counters(account, |a| {
            a.last_seq = last + 1;
            a.last_seq
        })
    }

    /// The internal company number of `account`'s next company.
    fn partner_company_number(&mut self, account: u64) -> u64 {
        self.partner_counters(account, |a| {
            let n = FIRST_COMPANY_NUMBER + a.next_company;
            a.next_company += 1;
            n
        })
    }

    /// Whether `email` is taken by a user or an open invite of `account` (compared
    /// case-insensitively).
    pub fn partner_email_in_use(&self, account: u64, email: &str, now: DateTime<Utc>) -> bool {
        // Both are found by the ASCII-lowercased address (`eq_ignore_ascii_case`).
        let key = email.to_ascii_lowercase();
        self.partner_users.lookup(&account, "email", &key).next().is_some()
            || self
                .partner_invites
                .lookup(&account, "email", &key)
                .any(|i| i.status_at(now) == InviteStatus::Open)
    }

    /// The Partner company with the internal company `number`: of the accounts that numbered
    /// one so, the first (by account id). Found by each account's `number` index (the accounts
    /// are few; their companies may be many), not by a scan of every company.
    pub fn partner_company_numbered(&self, number: u64) -> Option<&Company> {
        let number = number.to_string();
        self.partner_companies
            .scopes()
            .filter_map(|account| self.partner_companies.lookup(account, "number", &number).next())
            .min_by_key(|c| c.account)
    }

    /// The company `id` of `account`.
    pub fn partner_company(&self, account: u64, id: &Uuid) -> Option<&Company> {
        self.partner_companies.get(&account, &id.to_string())
    }

    /// The user `id` of `account`.
    pub fn partner_user(&self, account: u64, id: &Uuid) -> Option<&User> {
        self.partner_users.get(&account, &id.to_string())
    }

    /// The invite `id` of `account`.
    pub fn partner_invite(&self, account: u64, id: &Uuid) -> Option<&Invite> {
        self.partner_invites.get(&account, &id.to_string())
    }
}

/// What a Partner API key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerKey {
    /// The key's id, as token info shows it.
    pub id: Uuid,
    /// The id of the partner account whose data the key works on ([`PartnerAccount::id`]).
    pub account: u64,
    /// The key's permissions.
    pub scopes: Vec<String>,
}

/// A deterministic UUID for `what` (token ids).
pub(crate) fn derived_uuid(what: &str) -> Uuid {
    let digest = Sha256::digest(what.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// The company number and user a partner key acts for with `X-User-Id: header`, or 403.
pub(crate) fn act_for(state: &AppState, key: &PartnerKey, header: Option<&str>) -> Result<(u64, Uuid), PaywiseError> {
    let deny = |m: &str| PaywiseError::Detail(StatusCode::FORBIDDEN, m.to_string());
    let Some(raw) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Err(deny(
            "A partner key needs the X-User-Id header to use the Case Management API.",
        ));
    };
    let Ok(id) = Uuid::parse_str(raw) else {
        return Err(deny("X-User-Id does not name a user created by this partner."));
    };
    state.store.read(|db| {
        let user = db
            .partner_user(key.account, &id)
            .ok_or_else(|| deny("X-User-Id does not name a user created by this partner."))?;
        let company = db
            .partner_company(key.account, &user.company)
            .ok_or_else(|| deny("X-User-Id does not name a user created by this partner."))?;
        if !company.data_submission_completed {
            return Err(deny("The user's company has not completed its data submission."));
        }
        if !user.email_verified {
            return Err(deny("The user has not verified their e-mail address."));
        }
        Ok((company.number, user.id))
    })
}

/// The id of the partner account behind the fixture partner keys.
pub fn account(state: &AppState) -> Option<u64> {
    state
        .tokens
        .get(PARTNER_TOKEN)
        .and_then(|g| g.partner)
        .map(|k| k.account)
}

/// The partner account and user behind `X-User-Id` of `caller`, if it is a partner acting for a
/// user: `(email, first_name, last_name)`.
pub(crate) fn acting_user(state: &AppState, caller: &Caller) -> Option<(String, String, String)> {
    let key = caller.grant.partner.as_ref()?;
    let id = caller.acting_user?;
    state.store.read(|db| {
        db.partner_user(key.account, &id)
            .map(|u| (u.email.clone(), u.first_name.clone(), u.last_name.clone()))
    })
}

/// Registers the fixture partner's keys, all naming the fixture account ([`FIXTURE_ACCOUNT`],
/// whose data [`seed_fixture_account`] puts into the database).
pub(crate) fn register_tokens(tokens: &TokenRegistry<Grant>, seed: u64) {
    for (token, mode, name, scopes) in [
        (
            PARTNER_TOKEN,
            AccessMode::Test,
            "Partner test key",
            vec![API_ONLY_ONBOARDING],
        ),
        (
            PARTNER_PRODUCTION_TOKEN,
            AccessMode::Production,
            "Partner live key",
            vec![API_ONLY_ONBOARDING],
        ),
        (
            PARTNER_RESTRICTED_TOKEN,
            AccessMode::Test,
            "Partner restricted key",
            vec![],
        ),
    ] {
        tokens.insert(
            token,
            Grant {
                scope: Scope { company: 0, mode },
                name: name.into(),
                partner: Some(PartnerKey {
                    id: derived_uuid(&format!("partner-key:{seed}:{name}")),
                    account: FIXTURE_ACCOUNT,
                    scopes: scopes.into_iter().map(str::to_string).collect(),
                }),
            },
        );
    }
}

fn fuuid(f: &mut fixtures::Faker) -> Uuid {
    uuid::Builder::from_random_bytes(f.bytes16()).into_uuid()
}

fn fixture_time(f: &fixtures::Faker, days: i64) -> DateTime<Utc> {
    f.anchor_at(9) + Duration::days(days)
}

/// Adds the fixture partner's account to `db`: with `data`, two companies (one complete, one
/// not), three users and three invites, drawn from their own generator (so they do not depend on
/// the rest of the fixtures); without, only the account (no companies, users or invites).
pub(crate) fn seed_fixture_account(db: &mut Db, seed: u64, anchor: chrono::NaiveDate, data: bool) {
    crate::seed::kept(db.partner_accounts.insert(PartnerAccount::new(FIXTURE_ACCOUNT)));
    if data {
        seed_account(
            &mut fixtures::Faker::new(seed ^ 0x7a47_0e12, anchor),
            db,
            FIXTURE_ACCOUNT,
        );
    }
}

/// A partner with two companies (one complete, one not), three users and three invites.
fn seed_account(f: &mut fixtures::Faker, db: &mut Db, account: u64) {
    let c1 = f.de_company();
    let boss = f.de_person();
    let mut complete = Company {
        seq: db.partner_seq(account),
        account,
        id: fuuid(f),
        number: db.partner_company_number(account),
        name: Some(c1.name),
        phone: Some(c1.phone),
        address: Some(CompanyAddress {
            street: format!("{} {}", c1.address.street, c1.address.house_number),
            zip: c1.address.postal_code,
            city: c1.address.city,
            country: c1.address.country_code,
        }),
        vat_number: Some(c1.vat_number),
        data_submission_completed: false,
        default_claim_type: Some("H05".into()),
        legal_form: Some("GmbH".into()),
        legal_representatives: vec![
            json!({"type": "geschaeftsführer", "name": format!("{} {}", boss.first_name, boss.last_name)}),
        ],
        tax_deduction_eligibility: Some("J".into()),
        notification_channels: vec![
            json!({"channel_type": "EMAIL", "value": c1.email, "notification_types": NOTIFICATION_TYPES}),
        ],
        iban: Some(c1.iban),
        v2: Default::default(),
    };
    complete.data_submission_completed = complete.is_complete();
    let c2 = f.de_company();
    let incomplete = Company {
        seq: db.partner_seq(account),
        account,
        id: fuuid(f),
        number: db.partner_company_number(account),
        name: Some(c2.name),
        phone: None,
        address: None,
        vat_number: None,
        data_submission_completed: false,
        default_claim_type: Some("H05".into()),
        legal_form: Some("GbR".into()),
        legal_representatives: Vec::new(),
        tax_deduction_eligibility: None,
        notification_channels: Vec::new(),
        iban: None,
        v2: Default::default(),
    };
    let mut users = Vec::new();
    for (company, verified) in [(complete.id, true), (complete.id, false), (incomplete.id, true)] {
        let p = f.de_person();
        users.push(User {
            seq: db.partner_seq(account),
            account,
            id: fuuid(f),
            email: p.email.to_lowercase(),
            first_name: p.first_name,
            last_name: p.last_name,
            company,
            email_verified: verified,
            notification_channels: Vec::new(),
        });
    }
    let mut invites = Vec::new();
    for (status, expiry_days, user) in [
        (InviteStatus::Open, 30, None),
        (InviteStatus::Completed, 10, users.first().map(|u: &User| u.id)),
        (InviteStatus::Open, -3, None),
    ] {
        let p = f.de_person();
        let email = match user.and_then(|id| users.iter().find(|u| u.id == id)) {
            Some(u) => u.email.clone(),
            None => p.email.to_lowercase(),
        };
        invites.push(Invite {
            seq: db.partner_seq(account),
            account,
            id: fuuid(f),
            email,
            company: complete.id,
            success_url: "https://partner.example/onboarding/success".into(),
            failure_url: "https://partner.example/onboarding/failure".into(),
            first_name: Some(p.first_name),
            last_name: Some(p.last_name),
            expiry: fixture_time(f, expiry_days),
            status,
            user,
        });
    }
    crate::seed::kept(db.partner_companies.insert(complete));
    crate::seed::kept(db.partner_companies.insert(incomplete));
    for u in users {
        crate::seed::kept(db.partner_users.insert(u));
    }
    for i in invites {
        crate::seed::kept(db.partner_invites.insert(i));
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

fn render_user(u: &User, origin: &Origin) -> Value {
    json!({
        "href": origin.url(&format!("/partner/v1/users/{}/", u.id)),
        "id": u.id,
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "company": u.company,
        "email_verified": u.email_verified,
        "notification_channels": u.notification_channels,
    })
}

fn render_company(c: &Company, db: &Db, origin: &Origin) -> Value {
    let users: Vec<Value> = db
        .partner_users
        .lookup(&c.account, "company", &c.id.to_string())
        .map(|u| render_user(u, origin))
        .collect();
    json!({
        "href": origin.url(&format!("/partner/v1/companies/{}/", c.id)),
        "id": c.id,
        "name": c.name,
        "phone": c.phone,
        "address": c.address.as_ref().map(|a| json!({"street": a.street, "zip": a.zip, "city": a.city, "country": a.country})),
        "vat_number": c.vat_number,
        "users": users,
        "data_submission_completed": c.data_submission_completed,
        "legal_form": c.legal_form,
        "legal_representatives": c.legal_representatives,
        "tax_deduction_eligibility": c.tax_deduction_eligibility,
        "notification_channels": c.notification_channels,
    })
}

/// Where an invite's web flow starts: the mock's own onboarding page (never paywise's real host).
pub(crate) fn onboarding_path(id: Uuid) -> String {
    format!("/_mock/paywise/partner/onboarding/{id}/")
}

fn render_invite(i: &Invite, now: DateTime<Utc>, origin: &Origin) -> Value {
    json!({
        "id": i.id,
        "email": i.email,
        "company": i.company,
        "success_url": i.success_url,
        "failure_url": i.failure_url,
        "first_name": i.first_name,
        "last_name": i.last_name,
        "invite_url": origin.url(&onboarding_path(i.id)),
        "expiry": crate::format::timestamp(&i.expiry),
        "status": i.status_at(now),
    })
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// The routes of this module (nested under `/partner/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/info/", get(info))
        .route("/companies/", get(list_companies).post(create_company))
        .route("/companies/{id}/", get(show_company).patch(update_company))
        .route("/users/", get(list_users).post(create_user))
        .route("/users/{id}/", get(show_user))
        .route("/userinvites/", post(create_invite))
        .route("/userinvites/{id}/", get(show_invite))
        .route("/userinvites/{id}/get-onboarded-user/", get(onboarded_user))
}

/// The invite's web flow, as the mock's stand-in for paywise's web app (merged at the root, served
/// even without the control API, since every `invite_url` points here): `GET
/// /_mock/paywise/partner/onboarding/{id}/` answers a small HTML page naming the invite, its
/// status and how to finish it locally. No token: it is a link for a browser.
pub(crate) fn onboarding_router() -> Router<AppState> {
    Router::new().route("/_mock/paywise/partner/onboarding/{id}/", get(onboarding_page))
}

async fn onboarding_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::response::Html<String>, PaywiseError> {
    let id = path_uuid(&id)?;
    let account = account(&state).ok_or_else(PaywiseError::not_found)?;
    let now = state.now();
    let (email, status, expiry) = state.store.read(|db| {
        db.partner_invite(account, &id)
            .map(|i| {
                (
                    i.email.clone(),
                    i.status_at(now).to_string(),
                    crate::format::timestamp(&i.expiry),
                )
            })
            .ok_or_else(PaywiseError::not_found)
    })?;
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    Ok(axum::response::Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>paywise mock: onboarding</title></head>\n\
         <body><h1>paywise mock: partner onboarding</h1>\n\
         <p>Invite <code>{id}</code> for <code>{}</code>: <strong>{status}</strong> (expires {expiry}).</p>\n\
         <p>This page stands in for paywise's web flow. To finish the invite locally, call\n\
         <code>POST /_mock/paywise/partner/userinvites/{id}/complete</code> with\n\
         <code>{{\"first_name\": ..., \"last_name\": ...}}</code>.</p></body></html>\n",
        escape(&email)
    )))
}

/// Mock-only control routes (merged at the root): `POST /_mock/paywise/partner/users/{id}/verify-email`
/// marks a user's e-mail address verified; `POST /_mock/paywise/partner/userinvites/{id}/complete`
/// finishes an open invite as paywise's web flow would (creating a verified user; an optional
/// body `{"first_name", "last_name"}` fills names the invite lacks).
pub fn control_router() -> Router<AppState> {
    Router::new()
        .route("/_mock/paywise/partner/users/{id}/verify-email", post(control_verify))
        .route(
            "/_mock/paywise/partner/userinvites/{id}/complete",
            post(control_complete),
        )
}

fn key(caller: &Caller) -> Result<&PartnerKey, PaywiseError> {
    caller.grant.partner.as_ref().ok_or_else(forbidden)
}

async fn info(caller: Caller) -> Result<Json<Value>, PaywiseError> {
    let key = key(&caller)?;
    let (email, first, last) = PARTNER_USER;
    Ok(Json(json!([{
        "id": key.id,
        "token_name": caller.grant.name,
        "user": email,
        "user_first_name": first,
        "user_last_name": last,
        "scopes": key.scopes,
    }])))
}

async fn list_companies(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
) -> Result<Json<Value>, PaywiseError> {
    let key = key(&caller)?;
    let (limit, offset) = origin.limit_offset();
    Ok(state.store.read(|db| {
        let p = db.partner_companies.page_offset(&key.account, offset, limit, None);
        list::page(&origin, p, limit, offset, |c| render_company(c, db, &origin))
    }))
}

async fn show_company(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Json<Value>, PaywiseError> {
    let key = key(&caller)?;
    let id = path_uuid(&id)?;
    state.store.read(|db| {
        db.partner_company(key.account, &id)
            .map(|c| Json(render_company(c, db, &origin)))
            .ok_or_else(PaywiseError::not_found)
    })
}

/// The fields a company body sets (`None`: not in the body).
#[derive(Default)]
struct CompanyChange {
    name: Option<Option<String>>,
    phone: Option<Option<String>>,
    address: Option<Option<CompanyAddress>>,
    vat_number: Option<Option<String>>,
    default_claim_type: Option<Option<String>>,
    legal_form: Option<Option<String>>,
    legal_representatives: Option<Vec<Value>>,
    tax_deduction_eligibility: Option<Option<String>>,
    notification_channels: Option<Vec<Value>>,
    iban: Option<Option<String>>,
}

fn notification_channels(o: &mut Obj<'_>, raw: Option<&Value>) -> Option<Vec<Value>> {
    let items: &[Value] = raw.and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let index = std::cell::Cell::new(0usize);
    o.list("notification_channels", OPT_LIST, true, |c| {
        let i = index.get();
        index.set(i + 1);
        let channel_type = c.choice("channel_type", REQ, CHANNEL_TYPES);
        let value = c.string("value", REQ, None);
        if let Some(v) = &value
            && !looks_like_email(v)
        {
            c.error("value", "Enter a valid email address.");
        }
        let types = items.get(i).and_then(|item| item.get("notification_types"));
        let mut kinds = Vec::new();
        match types {
            None | Some(Value::Null) => {}
            Some(Value::Array(ts)) => {
                for t in ts {
                    match t.as_str() {
                        Some(s) if NOTIFICATION_TYPES.contains(&s) => kinds.push(s.to_string()),
                        _ => {
                            let shown = t.as_str().map_or_else(|| t.to_string(), str::to_string);
                            c.error("notification_types", format!("\"{shown}\" is not a valid choice."));
                        }
                    }
                }
            }
            Some(other) => c.error(
                "notification_types",
                format!(
                    "Expected a list of items but got type \"{}\".",
                    crate::validate::py_type(other)
                ),
            ),
        }
        json!({"channel_type": channel_type, "value": value, "notification_types": kinds})
    })
}

/// A company body (`CompanySerlializerRequest` on create, `PatchedCompanySerlializerRequest` on
/// update): `name` and `phone` are required on create; every string has `minLength: 1`; the
/// address needs street, zip, city (each non-blank) and a country of `CountryEnum`; the
/// representatives' `type` is `TypeEnum`. Fields the files do not have (`default_claim_type`,
/// `iban`) are ignored, as DRF ignores unknown fields.
fn validate_company(body: &Value, creating: bool) -> Result<CompanyChange, Value> {
    let mut o = Obj::new(body)?;
    let present = |k: &str| body.get(k).is_some();
    let mut ch = CompanyChange::default();
    let on_create = if creating { REQ } else { OPT_NOT_BLANK };
    let name = o.string("name", on_create, None);
    if present("name") {
        ch.name = Some(name);
    }
    let phone = o.string("phone", on_create, None);
    if present("phone") {
        ch.phone = Some(phone);
    }
    let address = o.nested("address", OPT_OBJECT, |a| {
        let street = a.string("street", REQ, None);
        let zip = a.string("zip", REQ, None);
        let city = a.string("city", REQ, None);
        let country = a.string("country", REQ, None);
        if let Some(c) = &country
            && !is_country(c)
        {
            a.error("country", format!("\"{c}\" is not a valid choice."));
        }
        Some(CompanyAddress {
            street: street?,
            zip: zip?,
            city: city?,
            country: country?,
        })
    });
    if present("address") {
        ch.address = Some(address.flatten());
    }
    let vat = o.string("vat_number", OPT_NOT_BLANK, None);
    if present("vat_number") {
        ch.vat_number = Some(vat);
    }
    let legal_form = o.string("legal_form", OPT_NOT_BLANK, None);
    if present("legal_form") {
        ch.legal_form = Some(legal_form);
    }
    let reps = o.list("legal_representatives", OPT_LIST, true, |r| {
        let t = r.choice("type", REQ, LEGAL_REPRESENTATIVE_TYPES);
        let n = r.string("name", REQ, None);
        json!({"type": t, "name": n})
    });
    if present("legal_representatives") {
        ch.legal_representatives = Some(reps.unwrap_or_default());
    }
    let tax = o.choice("tax_deduction_eligibility", OPT_NOT_BLANK, TAX_DEDUCTION);
    if present("tax_deduction_eligibility") {
        ch.tax_deduction_eligibility = Some(tax);
    }
    let channels = notification_channels(&mut o, body.get("notification_channels"));
    if present("notification_channels") {
        ch.notification_channels = Some(channels.unwrap_or_default());
    }
    o.finish()?;
    Ok(ch)
}

/// Sets each listed field of a company to the change's value where the change carries one.
macro_rules! apply_fields {
    ($c:ident, $ch:ident: $($field:ident),+ $(,)?) => {
        $(if let Some(v) = $ch.$field {
            $c.$field = v;
        })+
    };
}

fn apply(c: &mut Company, ch: CompanyChange) {
    apply_fields!(c, ch:
        name,
        phone,
        address,
        vat_number,
        default_claim_type,
        legal_form,
        legal_representatives,
        tax_deduction_eligibility,
        notification_channels,
        iban,
    );
    c.data_submission_completed = c.is_complete();
}

async fn create_company(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let key = key(&caller)?;
    let ch = validate_company(&body, true).map_err(PaywiseError::Validation)?;
    let id = state.ids.uuid();
    let account = key.account;
    state.store.write(|db| {
        let mut c = Company::blank(db.partner_seq(account), account, id, db.partner_company_number(account));
        apply(&mut c, ch);
        let out = render_company(&c, db, &origin);
        db.partner_companies
            .insert(c)
            .map_err(|e| PaywiseError::Detail(StatusCode::CONFLICT, e.to_string()))?;
        // paywise's Partner API file documents 200 (not 201) for this create.
        Ok((StatusCode::OK, Json(out)))
    })
}

async fn update_company(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, PaywiseError> {
    let key = key(&caller)?;
    let id = path_uuid(&id)?;
    let account = key.account;
    let completed = state
        .store
        .read(|db| db.partner_company(account, &id).map(|c| c.data_submission_completed))
        .ok_or_else(PaywiseError::not_found)?;
    if completed {
        return Err(PaywiseError::Detail(
            StatusCode::FORBIDDEN,
            "The company's data submission is completed; it can no longer be changed.".into(),
        ));
    }
    let ch = validate_company(&body, false).map_err(PaywiseError::Validation)?;
    state.store.write(|db| {
        db.partner_companies
            .update(&account, &id.to_string(), |c| apply(c, ch))
            .ok_or_else(PaywiseError::not_found)?;
        db.partner_company(account, &id)
            .map(|c| Json(render_company(c, db, &origin)))
            .ok_or_else(PaywiseError::not_found)
    })
}

async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
) -> Result<Json<Value>, PaywiseError> {
    let key = key(&caller)?;
    let mut f = Filters::new(&origin.query);
    let company = f.uuid("company");
    let email = f.string("email");
    let first_name = f.string("first_name");
    let id = f.uuid("id");
    let last_name = f.string("last_name");
    f.finish()?;
    let filtered = company.is_some() || email.is_some() || first_name.is_some() || id.is_some() || last_name.is_some();
    let matches = |u: &User| {
        company.is_none_or(|c| u.company == c)
            && email.as_ref().is_none_or(|e| &u.email == e)
            && first_name.as_ref().is_none_or(|n| &u.first_name == n)
            && id.is_none_or(|i| u.id == i)
            && last_name.as_ref().is_none_or(|n| &u.last_name == n)
    };
    let (limit, offset) = origin.limit_offset();
    Ok(state.store.read(|db| {
        let p = db.partner_users.page_offset(
            &key.account,
            offset,
            limit,
            filtered.then_some(&matches as &dyn Fn(&User) -> bool),
        );
        list::page(&origin, p, limit, offset, |u| render_user(u, &origin))
    }))
}

async fn show_user(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Json<Value>, PaywiseError> {
    let key = key(&caller)?;
    let id = path_uuid(&id)?;
    state.store.read(|db| {
        db.partner_user(key.account, &id)
            .map(|u| Json(render_user(u, &origin)))
            .ok_or_else(PaywiseError::not_found)
    })
}

/// Records DRF's unique-validator error at `email` when the read, valid `email` is already taken
/// by a user or an open invite of the Partner `account` (new users and new invites alike).
fn refuse_taken_email(o: &mut Obj<'_>, db: &Db, account: u64, email: Option<&str>, now: DateTime<Utc>) {
    if let Some(e) = email
        && !o.failed("email")
        && db.partner_email_in_use(account, e, now)
    {
        o.error("email", "user with this email already exists.");
    }
}

/// Reads `email` (required, valid) and `company` (an existing company of the partner).
fn email_and_company(o: &mut Obj<'_>, body: &Value, db: &Db, account: u64) -> (Option<String>, Option<Uuid>) {
    let email = o.string("email", REQ, None);
    if let Some(e) = &email
        && !looks_like_email(e)
    {
        o.error("email", "Enter a valid email address.");
    }
    let company = match pk_ref(body, "company", true, |u| db.partner_company(account, &u).is_some()) {
        PkRef::Found(u) => Some(u),
        PkRef::Absent => {
            o.error("company", crate::validate::REQUIRED);
            None
        }
        PkRef::Null => {
            o.error("company", crate::validate::NOT_NULL);
            None
        }
        PkRef::Unknown(shown) => {
            o.error("company", format!("Invalid pk \"{shown}\" - object does not exist."));
            None
        }
        PkRef::NotUuid(_) | PkRef::WrongType(_) => {
            o.error("company", "Must be a valid UUID.");
            None
        }
    };
    (email, company)
}

async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    body: Result<JsonBody, PaywiseError>,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    // The Partner API file documents this 400 as `{"message": ...}`, parse errors included.
    let JsonBody(body) = body.map_err(PaywiseError::into_message)?;
    let key = key(&caller)?;
    if !key.scopes.iter().any(|s| s == API_ONLY_ONBOARDING) {
        return Err(forbidden());
    }
    let now = state.now();
    let id = state.ids.uuid();
    let account = key.account;
    state
        .store
        .write(|db| {
            let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
            let (email, company) = email_and_company(&mut o, &body, db, account);
            let first_name = o.string("first_name", REQ, None);
            let last_name = o.string("last_name", REQ, None);
            let skip = o.boolean("skip_email_verification", OPT_NOT_NULL).unwrap_or(false);
            let channels = notification_channels(&mut o, body.get("notification_channels"));
            refuse_taken_email(&mut o, db, account, email.as_deref(), now);
            o.finish().map_err(PaywiseError::Validation)?;
            let (Some(email), Some(company), Some(first_name), Some(last_name)) =
                (email, company, first_name, last_name)
            else {
                return Err(PaywiseError::invalid_data());
            };
            let u = User {
                seq: db.partner_seq(account),
                account,
                id,
                email,
                first_name,
                last_name,
                company,
                email_verified: skip,
                notification_channels: channels.unwrap_or_default(),
            };
            let out = render_user(&u, &origin);
            db.partner_users
                .insert(u)
                .map_err(|e| PaywiseError::Detail(StatusCode::CONFLICT, e.to_string()))?;
            Ok((StatusCode::CREATED, Json(out)))
        })
        .map_err(PaywiseError::into_message)
}

/// Whether `v` is an `http(s)` URL (parsed by the `url` crate, no whitespace) whose host has a
/// dot or starts with `localhost`.
fn valid_url(v: &str) -> bool {
    !v.contains(char::is_whitespace)
        && (v.starts_with("https://") || v.starts_with("http://"))
        && url::Url::parse(v)
            .ok()
            .as_ref()
            .and_then(url::Url::host_str)
            .is_some_and(|host| host.contains('.') || host.starts_with("localhost"))
}

async fn create_invite(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    body: Result<JsonBody, PaywiseError>,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    // The Partner API file documents this 400 as `{"message": ...}`, parse errors included.
    let JsonBody(body) = body.map_err(PaywiseError::into_message)?;
    let key = key(&caller)?;
    let now = state.now();
    let id = state.ids.uuid();
    let account = key.account;
    state
        .store
        .write(|db| {
            let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
            let (email, company) = email_and_company(&mut o, &body, db, account);
            let url = |o: &mut Obj<'_>, k: &str| {
                let v = o.string(k, REQ, None);
                if let Some(u) = &v
                    && !valid_url(u)
                {
                    o.error(k, "Enter a valid URL.");
                    return None;
                }
                v
            };
            let success_url = url(&mut o, "success_url");
            let failure_url = url(&mut o, "failure_url");
            let first_name = o.string("first_name", OPT_NOT_BLANK, None);
            let last_name = o.string("last_name", OPT_NOT_BLANK, None);
            refuse_taken_email(&mut o, db, account, email.as_deref(), now);
            o.finish().map_err(PaywiseError::Validation)?;
            let (Some(email), Some(company), Some(success_url), Some(failure_url)) =
                (email, company, success_url, failure_url)
            else {
                return Err(PaywiseError::invalid_data());
            };
            let i = Invite {
                seq: db.partner_seq(account),
                account,
                id,
                email,
                company,
                success_url,
                failure_url,
                first_name,
                last_name,
                expiry: now + Duration::days(INVITE_DAYS),
                status: InviteStatus::Open,
                user: None,
            };
            let out = render_invite(&i, now, &origin);
            db.partner_invites
                .insert(i)
                .map_err(|e| PaywiseError::Detail(StatusCode::CONFLICT, e.to_string()))?;
            Ok((StatusCode::CREATED, Json(out)))
        })
        .map_err(PaywiseError::into_message)
}

async fn show_invite(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Json<Value>, PaywiseError> {
    let key = key(&caller)?;
    let id = path_uuid(&id)?;
    let now = state.now();
    state.store.read(|db| {
        db.partner_invite(key.account, &id)
            .map(|i| Json(render_invite(i, now, &origin)))
            .ok_or_else(PaywiseError::not_found)
    })
}

async fn onboarded_user(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Json<Value>, PaywiseError> {
    let key = key(&caller)?;
    let id = path_uuid(&id)?;
    state.store.read(|db| {
        let invite = db
            .partner_invite(key.account, &id)
            .ok_or_else(PaywiseError::not_found)?;
        invite
            .user
            .and_then(|u| db.partner_user(key.account, &u))
            .map(|u| Json(render_user(u, &origin)))
            .ok_or_else(|| {
                // The Partner API file documents 400 `{"message": ...}` for this operation.
                PaywiseError::Message(
                    StatusCode::BAD_REQUEST,
                    "No user has been onboarded through this invite yet.".into(),
                )
            })
    })
}

async fn control_verify(
    State(state): State<AppState>,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Json<Value>, PaywiseError> {
    let account = account(&state).ok_or_else(PaywiseError::not_found)?;
    let id = path_uuid(&id)?;
    state.store.write(|db| {
        db.partner_users
            .update(&account, &id.to_string(), |u| {
                u.email_verified = true;
                render_user(u, &origin)
            })
            .map(Json)
            .ok_or_else(PaywiseError::not_found)
    })
}

/// Finishes the open invite `id` as the web flow would: a verified user of the invite's company.
pub(crate) fn complete_invite(
    state: &AppState,
    id: Uuid,
    names: Option<(String, String)>,
) -> Result<Uuid, PaywiseError> {
    let account = account(state).ok_or_else(PaywiseError::not_found)?;
    let now = state.now();
    let user_id = state.ids.uuid();
    state.store.write(|db| {
        let invite = db
            .partner_invite(account, &id)
            .cloned()
            .ok_or_else(PaywiseError::not_found)?;
        let status = invite.status_at(now);
        let Some(completed) = status.next(InviteEvent::Complete) else {
            return Err(PaywiseError::field(
                "status",
                format!("Only an OPEN invite can be completed; this one is {status}."),
            ));
        };
        let (given_first, given_last) = names.unzip();
        let first_name = invite.first_name.clone().or(given_first).unwrap_or_default();
        let last_name = invite.last_name.clone().or(given_last).unwrap_or_default();
        let u = User {
            seq: db.partner_seq(account),
            account,
            id: user_id,
            email: invite.email.clone(),
            first_name,
            last_name,
            company: invite.company,
            email_verified: true,
            notification_channels: Vec::new(),
        };
        db.partner_users
            .insert(u)
            .map_err(|e| PaywiseError::Detail(StatusCode::CONFLICT, e.to_string()))?;
        db.partner_invites.update(&account, &id.to_string(), |i| {
            i.status = completed;
            i.user = Some(user_id);
        });
        Ok(user_id)
    })
}

async fn control_complete(
    State(state): State<AppState>,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let id = path_uuid(&id)?;
    // Optional names, read as the API's own bodies are: a value that is no string is a 400.
    let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
    let first_name = o.string("first_name", OPT, None);
    let last_name = o.string("last_name", OPT, None);
    o.finish().map_err(PaywiseError::Validation)?;
    let names = Some((first_name.unwrap_or_default(), last_name.unwrap_or_default()));
    let user = complete_invite(&state, id, names)?;
    let account = account(&state).ok_or_else(PaywiseError::not_found)?;
    state.store.read(|db| {
        db.partner_user(account, &user)
            .map(|u| (StatusCode::CREATED, Json(render_user(u, &origin))))
            .ok_or_else(PaywiseError::not_found)
    })
}

#[cfg(test)]
mod state_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    proptest! {
        #[test]
        fn an_invite_ends_once(
            start in proptest::sample::select(InviteStatus::ALL),
            events in proptest::collection::vec(
                proptest::sample::select(&[InviteEvent::Complete, InviteEvent::Expire][..]),
                0..20,
            ),
        ) {
            let seen = walk(InviteStatus::ALL, start, &events);
            if let Some(i) = seen.iter().position(|s| *s != InviteStatus::Open) {
                prop_assert!(seen[i..].iter().all(|s| *s == seen[i]), "{seen:?}");
            }
        }
    }

    #[test]
    fn invite_names_are_the_partner_api_s() {
        round_trips(InviteStatus::ALL, InviteStatus::as_str);
        assert_eq!(InviteStatus::NAMES, ["OPEN", "COMPLETED", "EXPIRED"]);
    }

    /// A company number is unique within its account (the store refuses a second one), and the
    /// company numbered so is the first account's, found through each account's index.
    #[test]
    fn a_company_number_is_an_accounts_unique_key() {
        let mut db = Db::default();
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        db.partner_companies
            .insert(Company::blank(1, 2, a, 1001))
            .expect("first in 2");
        db.partner_companies
            .insert(Company::blank(1, 1, b, 1001))
            .expect("first in 1");
        let again = db.partner_companies.insert(Company::blank(2, 1, c, 1001));
        assert!(
            matches!(again, Err(mock_core::store::StoreError::DuplicateLookup { .. })),
            "{again:?}"
        );
        assert_eq!(db.partner_company_numbered(1001).map(|c| c.id), Some(b));
        assert!(db.partner_company_numbered(1002).is_none());
    }
}
