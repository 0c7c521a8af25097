//! Partner API v2: `/partner/v2/companies/` (managed companies) and
//! `/partner/v2/companies/{company_id}/users/` (memberships), plus the mock-only routes that
//! stand in for what the company's people do ([`control_router`]).
//!
//! **One table with v1.** v2's managed companies are v1's partner companies (`partner_companies`,
//! scoped by the Partner account): a company onboarded through either version is listed by both.
//! v1's fields are v2's where they mean the same: `name`, `phone`, `vat_number`,
//! `default_claim_type`, `address` (v1 `zip` = v2 `postal_code`), `legal_form` (v2 writes
//! catalogue codes; a v1 free-text form such as `GmbH` reads as its code `gmbh` where one
//! matches), `legal_representatives` (v1's German role codes ⇄ v2's English ones),
//! `tax_deduction_eligibility` (`J`/`N`/`K`/`A` ⇄ `input_tax_deductible`,
//! `not_input_tax_deductible`, `reverse_charge`, `third_country_non_taxable`), `iban` (the payout
//! account's IBAN) and `notification_channels` (`{channel_type: EMAIL, notification_types}` ⇄
//! `{type: email, notifications}`). What only v2 knows ([`CompanyV2`]) is kept beside the v1
//! record: v2's own spelling of representatives and channels (used while v1's copy still says
//! the same), the payout account's holder and BIC, `external_reference`, `data_sharing_basis`,
//! the onboarding mode and status, case access, the environment, timestamps and the release.
//! `customer_number` is derived from the internal company number (`10000000 + number`).
//!
//! **Environments.** A Partner key's access mode is its environment (test = sandbox). A company
//! onboarded through v2 lives in the environment it was created in and is invisible in the
//! other; a v1 company (v1 partner data knows no mode) is visible in both, as `api_only`,
//! `confirmation_not_required`, case access `available`. `sandbox_origin` is `sandbox_native`
//! in the sandbox and `unclassified` in production (the mock has no production mirrors).
//! Memberships belong to one environment (the one they were added in).
//!
//! **Onboarding modes and entitlements** (our choice; paywise's staff set them per Partner):
//! `web_flow` is entitled for every Partner key; `api_only` for keys with the key permission
//! `API_ONLY_ONBOARDING` (the fixture keys but the restricted one), else 403
//! `onboarding_mode_not_allowed`. `skip_email_verification: true` needs the same permission.
//! `api_only` companies have case access at once; `web_flow` companies start
//! `confirmation_pending` without case access until the company's administrator confirms
//! (`POST /_mock/paywise/v2/companies/{id}/confirm`).
//!
//! **Allowances.** 30 company creations and 60 membership additions (inline `users[]` count)
//! per Partner, environment and rolling hour, counted from the records' `created_at`; over
//! either, 429 `throttled` with `Retry-After` (seconds until enough of them leave the window)
//! and nothing is created. `GET /partner/v2/usage/` shows them as `mail:company-create` and
//! `mail:membership-create` (`mail_budgets`).
//!
//! **Locks** (§4.15.3, our reading): the legal representatives freeze once the company's data
//! submission is complete (v1's `data_submission_completed`, which a v2 write sets when the
//! company becomes ready for case submission and never clears); `name`, `legal_form`,
//! `tax_treatment` and `vat_number` freeze once the data is complete *and* a first case went in
//! (a v1 claim past `created`, or a mandate, of the company in that environment); the payout
//! account and the recipients for requests to client and statements are guarded from the first
//! case on. A locked field may be resent unchanged. Refusals are 409 with `identity_locked`,
//! `legal_representatives_locked`, `payout_bank_account_locked` or
//! `notification_recipients_required`.
//!
//! **Validation beyond the SDK's text** (our reading): `phone` is E.164; a payout IBAN passes
//! the IBAN check and one from outside Germany needs a BIC of its country; `reverse_charge`
//! needs an address in the EU and `third_country_non_taxable` one outside it; a representative's
//! `type` must be a role the legal form's catalogue entry requires (`owner` for private persons
//! and sole traders; any role for forms without requirements). On create, conflicts (409) are
//! checked before the allowances (429).
//!
//! **Readiness** (`case_submission_readiness`): ready when the company has a name, an address, a
//! legal form with the representatives its catalogue entry requires, a tax treatment (and a VAT
//! number for `reverse_charge`), a payout account, and e-mail recipients for requests to client
//! and for statements; each gap is one issue `{code, field, message}`.
//!
//! **Memberships**: `pending_setup` (with a one-time `setup_url` into the mock,
//! `{origin}/_mock/paywise/v2/setup/{token}`, shown only by add, inline create and resend;
//! the invitation runs 14 days) → `active` (`POST /_mock/paywise/v2/memberships/{id}/activate`)
//! → `revoked` (`POST …/revoke/`); `pending_setup` → `cancelled` (`POST …/cancel/`). An expired
//! invitation (`POST /_mock/paywise/v2/memberships/{id}/expire-invite`, or its time passing)
//! keeps the membership `pending_setup` with `invite_expires_at` in the past until resent. The
//! first non-terminal membership of a company must be an `admin` (409 `admin_required`); an
//! e-mail address may hold one non-terminal membership per company (409 `membership_exists`).
//! Revocation never reports responsibilities to reassign (the mock tracks none).
//!
//! **Release** ends the Partner's access: the company answers 404 on every v2 route of this
//! Partner from then on, in both environments (v1's `/partner/v1/` routes, which know no
//! release, keep listing it), its `external_reference` is cleared, `company.access.revoked` is
//! emitted with `reason: partner_released`, and the Partner's unsubmitted orders of the company
//! are deleted (`release_orders`, a hook for the v2 orders).
//!
//! **Timestamps.** A v1 company shows `created_at` and `updated_at` as null until v2 changes it
//! (v1 keeps no times, and v1's own writes do not move v2's `updated_at`); `updated_since`
//! pages therefore hold only companies v2 onboarded or changed.

// Every handler answers `Result<_, V2Error>`, v2's one error type (168 bytes with its extra
// members); boxing it is a decision for `v2::error`, not for one resource.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::resources::claims::SubmissionState;
use crate::resources::is_country;
use crate::resources::partner::{
    API_ONLY_ONBOARDING, Company, CompanyAddress, FIRST_COMPANY_NUMBER, INVITE_DAYS, PartnerAccount, PartnerKey,
};
use crate::state::{AccessMode, AppState, Db, Scope};
use crate::states::Machine as _;
use crate::v2::conv::{
    Idem, Obj, Paging, Patch, Query, UsageLimit, V2Caller, V2Json, if_match, no_body, paged, respond, show, ts,
};
use crate::v2::error::{ErrorItem, Errs, V2Error};
use crate::v2::events::emit_lifecycle;
use crate::v2::meta::{legal_form_codes, legal_form_group, representative_roles};
use crate::validate::looks_like_email;

/// Company creations per Partner, environment and hour.
pub(crate) const COMPANY_CREATIONS_PER_HOUR: u64 = 30;
/// Membership additions per Partner, environment and hour (inline `users[]` included).
pub(crate) const MEMBERSHIP_ADDITIONS_PER_HOUR: u64 = 60;
/// The window of both allowances, in seconds.
pub(crate) const ALLOWANCE_WINDOW: i64 = 3600;
/// Legal representatives per company.
pub(crate) const MAX_REPRESENTATIVES: usize = 3;
/// Notification channels per company.
pub(crate) const MAX_CHANNELS: usize = 10;
/// Inline users per company creation.
pub(crate) const MAX_INLINE_USERS: usize = 10;
/// `onboarding_mode`.
pub(crate) const ONBOARDING_MODES: &[&str] = OnboardingMode::NAMES;
/// Membership roles.
pub const ROLES: &[&str] = &["admin", "tax_consultant", "member", "readonly", "developer"];
/// Membership statuses.
pub const STATUSES: &[&str] = MembershipStatus::NAMES;

state_enum! {
    /// A membership's `status`; see [`MembershipStatus::next`].
    pub enum MembershipStatus moved by MembershipEvent {
        /// Invited; the user has not set up their access yet.
        PendingSetup = "pending_setup",
        /// Set up.
        Active = "active",
        /// Cancelled before setup (final).
        Cancelled = "cancelled",
        /// Revoked after setup (final).
        Revoked = "revoked",
    }
}

/// What moves a [`MembershipStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipEvent {
    /// The user set up their access: `pending_setup -> active`.
    Activate,
    /// The Partner cancels the invitation: `pending_setup -> cancelled`.
    Cancel,
    /// The Partner revokes the access: `active -> revoked`.
    Revoke,
}

impl MembershipStatus {
    /// Where `event` takes a membership in this status, or `None` where it is refused.
    pub fn next(self, event: MembershipEvent) -> Option<Self> {
        use MembershipStatus::*;
        match (self, event) {
            (PendingSetup, MembershipEvent::Activate) => Some(Active),
            (PendingSetup, MembershipEvent::Cancel) => Some(Cancelled),
            (Active, MembershipEvent::Revoke) => Some(Revoked),
            _ => None,
        }
    }

    /// Whether the invitation is still open (its role may change, it may be resent).
    pub fn is_pending(self) -> bool {
        self == MembershipStatus::PendingSetup
    }
}

state_enum! {
    /// A company's `onboarding_status`: whether paywise still waits for the company's own
    /// confirmation (a `web_flow` onboarding); see [`OnboardingStatus::next`].
    pub enum OnboardingStatus moved by Confirm {
        /// `api_only`: nothing to confirm.
        ConfirmationNotRequired = "confirmation_not_required",
        /// `web_flow`: waiting for the company.
        ConfirmationPending = "confirmation_pending",
        /// `web_flow`: confirmed (final).
        Confirmed = "confirmed",
    }
}

state_enum! {
    /// A company's `onboarding_mode`: how it was onboarded (fixed once onboarded, so not a
    /// lifecycle).
    pub enum OnboardingMode {
        /// The Partner onboards it through the API alone (needs the API-only scope).
        ApiOnly = "api_only",
        /// The company confirms its onboarding itself.
        WebFlow = "web_flow",
    }
}

state_enum! {
    /// A company's `case_access`: whether the Partner may work on its cases; see
    /// [`CaseAccess::next`].
    pub enum CaseAccess moved by CaseAccessEvent {
        /// The Partner may work on its cases (`api_only`, or a confirmed `web_flow`).
        Available = "available",
        /// Not (yet, or no longer): a `web_flow` company awaiting confirmation, or released.
        Unavailable = "unavailable",
    }
}

/// What moves a [`CaseAccess`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAccessEvent {
    /// The company confirmed its `web_flow` onboarding.
    Confirmed,
    /// The Partner released the company.
    Released,
}

impl CaseAccess {
    /// Where `event` takes a company's case access, or `None` where it is refused: a
    /// confirmation opens an unavailable company's cases; a release closes them from either
    /// state.
    pub fn next(self, event: CaseAccessEvent) -> Option<Self> {
        match (self, event) {
            (CaseAccess::Unavailable, CaseAccessEvent::Confirmed) => Some(CaseAccess::Available),
            (CaseAccess::Available, CaseAccessEvent::Confirmed) => None,
            (_, CaseAccessEvent::Released) => Some(CaseAccess::Unavailable),
        }
    }

    /// Where a company starts: an `api_only` one is available at once, a `web_flow` one once
    /// confirmed.
    pub fn at_onboarding(mode: OnboardingMode) -> Self {
        match mode {
            OnboardingMode::ApiOnly => CaseAccess::Available,
            OnboardingMode::WebFlow => CaseAccess::Unavailable,
        }
    }
}

/// What moves an [`OnboardingStatus`]: the company confirms (`confirmation_pending ->
/// confirmed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirm;

impl OnboardingStatus {
    /// Where [`Confirm`] takes a company in this status, or `None` where it is refused.
    pub fn next(self, _: Confirm) -> Option<Self> {
        (self == OnboardingStatus::ConfirmationPending).then_some(OnboardingStatus::Confirmed)
    }
}
/// `tax_treatment`, in the order of v1's `J`, `N`, `K`, `A`.
pub(crate) const TAX_TREATMENTS: &[&str] = &[
    "input_tax_deductible",
    "not_input_tax_deductible",
    "reverse_charge",
    "third_country_non_taxable",
];
/// Legal representative roles.
pub const REPRESENTATIVE_TYPES: &[&str] = &[
    "managing_director",
    "director",
    "board_member",
    "chairperson",
    "general_partner",
    "shareholder",
    "owner",
    "partner",
    "supervisory_board",
    "other",
];
/// Notification selections (all four when none is given).
pub const NOTIFICATIONS: &[&str] = &["status_updates", "requests_to_client", "statements", "advance_requests"];
/// `data_sharing_basis`.
pub(crate) const DATA_SHARING_BASES: &[&str] = &["not_secret_carrier", "self_authorized"];
/// `default_claim_type`: the 46 H-codes.
pub(crate) const DEFAULT_CLAIM_TYPES: &[&str] = &[
    "H05", "H43", "H22", "H21", "H11", "H44", "H08", "H41", "H16", "H10", "H02", "H28", "H26", "H24", "H06", "H18",
    "H34", "H19", "H42", "H17", "H45", "H37", "H29", "H01", "H78", "H14", "H77", "H40", "H15", "H23", "H04", "H20",
    "H79", "H75", "H33", "H39", "H70", "H90", "H09", "H03", "H07", "H12", "H13", "H36", "H61", "H76",
];
/// EU member states (tax treatments that need one, or must not have one).
const EU: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];
/// v1's representative types and v2's roles, v1 → v2 (`sonstiges` is `other`).
const V1_REPRESENTATIVES: &[(&str, &str)] = &[
    ("geschaeftsführer", "managing_director"),
    ("direktor", "director"),
    ("director", "director"),
    ("vorstand", "board_member"),
    ("vorsitzender", "chairperson"),
    ("komplementaer", "general_partner"),
    ("gesellschafter", "shareholder"),
    ("inhaber", "owner"),
    ("partner", "partner"),
    ("sonstiges", "other"),
];
/// v1's notification types and v2's selections (`advance_requests` has no v1 twin).
const V1_NOTIFICATIONS: &[(&str, &str)] = &[
    ("STATUS_UPDATE", "status_updates"),
    ("REQUESTS_TO_CLIENT", "requests_to_client"),
    ("STATEMENTS", "statements"),
];

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// A legal representative as v2 writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Representative {
    /// Full name.
    pub name: String,
    /// One of [`REPRESENTATIVE_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
}

/// A notification channel as v2 writes it (type `email`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// The e-mail address.
    pub value: String,
    /// From [`NOTIFICATIONS`], never empty.
    pub notifications: Vec<String>,
}

/// What v2 keeps beside a v1 partner company (hidden from v1's answers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompanyV2 {
    /// The environment it was onboarded in; `None` for a v1 company (visible in both).
    pub mode: Option<AccessMode>,
    /// The Partner's own id for it (trimmed; unique among the Partner's companies).
    pub external_reference: Option<String>,
    /// How it was onboarded (`None`: a v1 company, `api_only`).
    pub onboarding_mode: Option<OnboardingMode>,
    /// Where the onboarding is (`None`: `confirmation_not_required`).
    pub onboarding_status: Option<OnboardingStatus>,
    /// Whether the Partner may work on its cases (`None`: available).
    pub case_access: Option<CaseAccess>,
    /// v2's spelling of the representatives (used while v1's copy still says the same).
    pub legal_representatives: Option<Vec<Representative>>,
    /// v2's spelling of the channels (used while v1's copy still says the same).
    pub notification_channels: Option<Vec<Channel>>,
    /// The payout account's holder (the IBAN is v1's `iban`).
    pub payout_account_holder: Option<String>,
    /// The payout account's BIC.
    pub payout_bic: Option<String>,
    /// `not_secret_carrier` or `self_authorized`, once declared.
    pub data_sharing_basis: Option<String>,
    /// Revision of the Partner's authorization (events' `authorization_version`).
    pub authorization_version: u64,
    /// Whether the Partner released it (then it is gone for the Partner).
    pub released: bool,
    /// Onboarding through v2 (`None`: a v1 company).
    pub created_at: Option<DateTime<Utc>>,
    /// The last change through v2.
    pub updated_at: Option<DateTime<Utc>>,
}

impl CompanyV2 {
    fn onboarding_mode(&self) -> OnboardingMode {
        self.onboarding_mode.unwrap_or(OnboardingMode::ApiOnly)
    }

    fn onboarding_status(&self) -> OnboardingStatus {
        self.onboarding_status
            .unwrap_or(OnboardingStatus::ConfirmationNotRequired)
    }

    fn case_access(&self) -> CaseAccess {
        if self.released {
            CaseAccess::Unavailable
        } else {
            self.case_access.unwrap_or(CaseAccess::Available)
        }
    }

    /// Whether the company is the Partner's in `mode`.
    fn visible(&self, mode: AccessMode) -> bool {
        !self.released && self.mode.is_none_or(|m| m == mode)
    }
}

/// A membership of a user in a managed company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// Creation order.
    pub seq: u64,
    /// The company's number and the environment it was added in.
    pub scope: Scope,
    /// Id.
    pub id: Uuid,
    /// The Partner account.
    pub account: u64,
    /// The company's id.
    pub company: Uuid,
    /// E-mail.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// One of [`ROLES`].
    pub role: String,
    /// Where the membership is.
    pub status: MembershipStatus,
    /// When the current invitation expires (pending memberships with an invitation).
    pub invite_expires_at: Option<DateTime<Utc>>,
    /// The current invitation's secret token.
    pub setup_token: Option<String>,
    /// `skip_email_verification` was asserted.
    pub email_verified: bool,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Revocation reason.
    pub revocation_reason: Option<String>,
    /// The Partner key that revoked it.
    pub revoked_by_token_id: Option<Uuid>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

// A company's memberships are read by company.
scoped_record!(Membership, lookups = |r| vec![("company", r.company.to_string())]);

/// The memberships, with an index of their open invitations' setup tokens: the setup page is
/// addressed by token alone, across every Partner account and environment, which the store's
/// scoped secondary keys cannot serve. Reads go to the table ([`Deref`](std::ops::Deref));
/// writes go through [`Memberships::insert`] and [`Memberships::update`], which keep the index.
/// The stored form is the table's alone; the index is rebuilt when it is read.
#[derive(Debug, Clone, Default)]
pub struct Memberships {
    table: mock_core::Table<Membership>,
    /// Setup token -> the membership's scope and key.
    by_setup_token: Arc<HashMap<String, (Scope, String)>>,
}

impl std::ops::Deref for Memberships {
    type Target = mock_core::Table<Membership>;

    fn deref(&self) -> &Self::Target {
        &self.table
    }
}

impl Memberships {
    fn reindex(&mut self, before: Option<&str>, after: Option<&str>, scope: Scope, key: &str) {
        let index = Arc::make_mut(&mut self.by_setup_token);
        if let Some(token) = before {
            index.remove(token);
        }
        if let Some(token) = after {
            index.insert(token.to_string(), (scope, key.to_string()));
        }
    }

    /// Stores a new membership (see [`mock_core::Table::insert`]).
    pub fn insert(&mut self, m: Membership) -> Result<(), mock_core::store::StoreError> {
        let (token, scope, key) = (m.setup_token.clone(), m.scope, m.id.to_string());
        self.table.insert(m)?;
        self.reindex(None, token.as_deref(), scope, &key);
        Ok(())
    }

    /// Changes a membership (see [`mock_core::Table::update`]), its setup token included.
    pub fn update<R>(&mut self, scope: &Scope, key: &str, change: impl FnOnce(&mut Membership) -> R) -> Option<R> {
        let before = self.table.get(scope, key)?.setup_token.clone();
        let mut after = None;
        let out = self.table.update(scope, key, |m| {
            let out = change(m);
            after = m.setup_token.clone();
            out
        })?;
        if after != before {
            self.reindex(before.as_deref(), after.as_deref(), *scope, key);
        }
        Some(out)
    }

    /// The membership whose current invitation has `token`, whatever its account and
    /// environment.
    pub fn by_setup_token(&self, token: &str) -> Option<&Membership> {
        let (scope, key) = self.by_setup_token.get(token)?;
        self.table
            .get(scope, key)
            .filter(|m| m.setup_token.as_deref() == Some(token))
    }
}

impl Serialize for Memberships {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.table.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Memberships {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = mock_core::Table::<Membership>::deserialize(d)?;
        let by_setup_token = table
            .iter_all()
            .filter_map(|m| Some((m.setup_token.clone()?, (m.scope, m.id.to_string()))))
            .collect();
        Ok(Memberships {
            table,
            by_setup_token: Arc::new(by_setup_token),
        })
    }
}

impl Membership {
    /// Whether its invitation can still be accepted at `now`: it has a setup token and has not
    /// expired.
    fn invite_open(&self, now: DateTime<Utc>) -> bool {
        self.setup_token.is_some() && self.invite_expires_at.is_some_and(|t| t > now)
    }

    fn non_terminal(&self) -> bool {
        matches!(self.status, MembershipStatus::PendingSetup | MembershipStatus::Active)
    }

    /// As reads show it.
    fn render(&self) -> Value {
        let invite = self.status.is_pending().then_some(self.invite_expires_at).flatten();
        json!({
            "id": self.id.to_string(),
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "role": self.role,
            "status": self.status,
            "invite_expires_at": invite.as_ref().map(ts),
            "revoked_at": self.revoked_at.as_ref().map(ts),
            "revocation_reason": self.revocation_reason,
            "revoked_by_token_id": self.revoked_by_token_id.map(|t| t.to_string()),
            "sandbox_origin": sandbox_origin(self.scope.mode),
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
        })
    }

    /// As add, inline create and resend show it: with the one-time `setup_url`.
    fn render_with_setup_url(&self, origin: &Origin) -> Value {
        let mut v = self.render();
        if let (Value::Object(m), Some(token)) = (&mut v, &self.setup_token) {
            m.insert("setup_url".into(), Value::String(setup_url(origin, token)));
        }
        v
    }
}

fn sandbox_origin(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::Test => "sandbox_native",
        AccessMode::Production => "unclassified",
    }
}

/// The path of the mock's stand-in for paywise's account setup page.
fn setup_path(token: &str) -> String {
    format!("/_mock/paywise/v2/setup/{token}")
}

/// The setup link: on the address the client called the mock at; never a paywise host (a
/// client that sends `Host: api.paywise.de` gets the bare path).
fn setup_url(origin: &Origin, token: &str) -> String {
    let host = origin
        .origin
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if host == "paywise.de" || host.ends_with(".paywise.de") {
        setup_path(token)
    } else {
        origin.url(&setup_path(token))
    }
}

// ---------------------------------------------------------------------------------------------
// Shared with the rest of v2
// ---------------------------------------------------------------------------------------------

/// The company number a Partner key may act for through `X-On-Behalf-Of-Company: id`: a
/// company of the key's account, in the key's environment, whose case access is available;
/// 404 `not_found` otherwise.
pub(crate) fn case_company(state: &AppState, key: &PartnerKey, id: Uuid, mode: AccessMode) -> Result<u64, V2Error> {
    state.store.read(|db| {
        db.partner_company(key.account, &id)
            .filter(|c| c.v2.visible(mode) && c.v2.case_access() == CaseAccess::Available)
            .map(|c| c.number)
            .ok_or_else(|| {
                V2Error::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "X-On-Behalf-Of-Company does not name a company this Partner may operate.",
                )
            })
    })
}

/// The companies (number, id) of Partner `account` whose case access is available in `mode`.
pub(crate) fn operable_companies(db: &Db, account: u64, mode: AccessMode) -> Vec<(u64, Uuid)> {
    db.partner_companies
        .iter(&account)
        .filter(|c| c.v2.visible(mode) && c.v2.case_access() == CaseAccess::Available)
        .map(|c| (c.number, c.id))
        .collect()
}

/// The Partner's display name.
pub(crate) fn partner_name(account: u64) -> String {
    format!("Mock Partner {account}")
}

/// The creation times counted against an allowance: v2-onboarded companies, or memberships, of
/// `account` in `mode` younger than the window, oldest first.
fn window(db: &Db, account: u64, mode: AccessMode, now: DateTime<Utc>, memberships: bool) -> Vec<DateTime<Utc>> {
    let from = now - Duration::seconds(ALLOWANCE_WINDOW);
    let mut times: Vec<DateTime<Utc>> = if memberships {
        // A membership is kept in its company's scope, and a company never leaves its account.
        db.partner_companies
            .iter(&account)
            .flat_map(|c| db.v2_memberships.iter(&company_scope(c, mode)))
            .filter(|m| m.account == account)
            .map(|m| m.created_at)
            .filter(|t| *t > from)
            .collect()
    } else {
        db.partner_companies
            .iter(&account)
            .filter(|c| c.v2.mode == Some(mode))
            .filter_map(|c| c.v2.created_at)
            .filter(|t| *t > from)
            .collect()
    };
    times.sort();
    times
}

fn usage_limit(scope: &str, limit: u64, times: &[DateTime<Utc>], now: DateTime<Utc>) -> UsageLimit {
    let used = times.len() as u64;
    UsageLimit {
        scope: scope.to_string(),
        limit,
        used,
        remaining: limit.saturating_sub(used),
        window_seconds: ALLOWANCE_WINDOW as u64,
        resets_at: times.first().map_or(now, |t| *t + Duration::seconds(ALLOWANCE_WINDOW)),
    }
}

/// The hourly mail budgets of Partner `account` in `mode`: `mail:company-create` (30) and
/// `mail:membership-create` (60), counted from the companies onboarded and memberships added
/// in the last hour.
pub(crate) fn mail_budgets(state: &AppState, account: u64, mode: AccessMode, now: DateTime<Utc>) -> Vec<Value> {
    let (companies, memberships) = state.store.read(|db| {
        (
            window(db, account, mode, now, false),
            window(db, account, mode, now, true),
        )
    });
    [
        usage_limit("mail:company-create", COMPANY_CREATIONS_PER_HOUR, &companies, now),
        usage_limit(
            "mail:membership-create",
            MEMBERSHIP_ADDITIONS_PER_HOUR,
            &memberships,
            now,
        ),
    ]
    .into_iter()
    .map(|l| crate::format::ToJson::to_json(&l))
    .collect()
}

/// Refuses `adding` more records when the allowance would be exceeded: 429 `throttled` with
/// `Retry-After` (seconds until enough counted records leave the window).
fn allowance(
    times: &[DateTime<Utc>],
    adding: usize,
    limit: u64,
    what: &str,
    now: DateTime<Utc>,
) -> Result<(), V2Error> {
    let limit = limit as usize;
    if adding == 0 || times.len() + adding <= limit {
        return Ok(());
    }
    let must_leave = times.len() + adding - limit;
    let retry = times
        .get(must_leave.saturating_sub(1))
        .map_or(ALLOWANCE_WINDOW, |t| {
            (*t + Duration::seconds(ALLOWANCE_WINDOW) - now).num_seconds()
        })
        .max(1);
    let mut e = V2Error::new(
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
        format!("The Partner's allowance of {limit} {what} per hour is used up; retry in {retry} seconds."),
    );
    e.retry_after = Some(retry as u64);
    Err(e)
}

/// Deletes the orders the Partner created for the company of `scope` and never submitted (a
/// release's consequence; the company's own drafts and every submitted order stay).
///
/// TODO(v2 orders): v2 orders are being built; delete here the Partner-created, unsubmitted
/// orders of `scope` (and their claims and documents) once `db.v2_orders` records who created
/// them.
fn release_orders(db: &mut Db, scope: Scope) {
    let _ = (db, scope);
}

// ---------------------------------------------------------------------------------------------
// The v2 view of a company
// ---------------------------------------------------------------------------------------------

/// A postal address as v2 names its keys.
#[derive(Debug, Clone, PartialEq)]
struct Address {
    street: String,
    postal_code: String,
    city: String,
    country: String,
}

/// The payout account.
#[derive(Debug, Clone, PartialEq)]
struct Payout {
    account_holder: String,
    iban: String,
    bic: Option<String>,
}

/// Everything v2 shows of a company's data (what PATCH compares to find a no-op).
#[derive(Debug, Clone, PartialEq)]
struct View {
    name: String,
    address: Option<Address>,
    phone: Option<String>,
    vat_number: Option<String>,
    legal_form: Option<String>,
    legal_representatives: Vec<Representative>,
    tax_treatment: Option<String>,
    default_claim_type: Option<String>,
    payout: Option<Payout>,
    channels: Vec<Channel>,
    external_reference: Option<String>,
    data_sharing_basis: Option<String>,
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The catalogue code a v1 free-text legal form stands for (`GmbH` → `gmbh`); the text itself
/// when none does.
fn legal_form_code(raw: &str) -> String {
    let codes = legal_form_codes();
    if codes.contains(&raw) {
        return raw.to_string();
    }
    let s = squash(raw);
    if let Some(code) = codes.iter().find(|c| squash(c) == s) {
        return (*code).to_string();
    }
    let alias = match s.as_str() {
        "einzelkaufmann" | "eingetragenerkaufmann" => "ek",
        "einzelunternehmer" | "kleingewerbe" | "freiberufler" => "einzelunternehmen",
        "ughaftungsbeschränkt" => "ug",
        "gmbhundcokg" => "gmbh_co_kg",
        _ => return raw.to_string(),
    };
    alias.to_string()
}

fn v1_tax(treatment: &str) -> Option<String> {
    TAX_TREATMENTS
        .iter()
        .position(|t| *t == treatment)
        .and_then(|i| ["J", "N", "K", "A"].get(i))
        .map(|s| (*s).to_string())
}

fn v2_tax(code: &str) -> Option<String> {
    ["J", "N", "K", "A"]
        .iter()
        .position(|c| *c == code)
        .and_then(|i| TAX_TREATMENTS.get(i))
        .map(|s| (*s).to_string())
}

fn v1_representatives(reps: &[Representative]) -> Vec<Value> {
    reps.iter()
        .map(|r| {
            let kind = V1_REPRESENTATIVES
                .iter()
                .find(|(_, v2)| *v2 == r.kind)
                .map_or("sonstiges", |(v1, _)| v1);
            json!({"type": kind, "name": r.name})
        })
        .collect()
}

fn v1_channels(channels: &[Channel]) -> Vec<Value> {
    channels
        .iter()
        .map(|c| {
            let kinds: Vec<&str> = c
                .notifications
                .iter()
                .filter_map(|n| V1_NOTIFICATIONS.iter().find(|(_, v2)| v2 == n).map(|(v1, _)| *v1))
                .collect();
            json!({"channel_type": "EMAIL", "value": c.value, "notification_types": kinds})
        })
        .collect()
}

fn all_notifications() -> Vec<String> {
    NOTIFICATIONS.iter().map(|s| (*s).to_string()).collect()
}

fn view(c: &Company) -> View {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let legal_representatives = match &c.v2.legal_representatives {
        Some(r) if v1_representatives(r) == c.legal_representatives => r.clone(),
        _ => c
            .legal_representatives
            .iter()
            .map(|r| {
                let v1 = text(r, "type");
                let kind = V1_REPRESENTATIVES
                    .iter()
                    .find(|(k, _)| *k == v1)
                    .map_or("other", |(_, v2)| v2);
                Representative {
                    name: text(r, "name"),
                    kind: kind.to_string(),
                }
            })
            .collect(),
    };
    let channels = match &c.v2.notification_channels {
        Some(ch) if v1_channels(ch) == c.notification_channels => ch.clone(),
        _ => c
            .notification_channels
            .iter()
            .map(|ch| {
                let mut notifications: Vec<String> = ch
                    .get("notification_types")
                    .and_then(Value::as_array)
                    .map(|ts| {
                        ts.iter()
                            .filter_map(Value::as_str)
                            .filter_map(|t| {
                                V1_NOTIFICATIONS
                                    .iter()
                                    .find(|(v1, _)| *v1 == t)
                                    .map(|(_, v2)| (*v2).to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if notifications.is_empty() {
                    notifications = all_notifications();
                }
                Channel {
                    value: text(ch, "value"),
                    notifications,
                }
            })
            .collect(),
    };
    View {
        name: c.name.clone().unwrap_or_default(),
        address: c.address.as_ref().map(|a| Address {
            street: a.street.clone(),
            postal_code: a.zip.clone(),
            city: a.city.clone(),
            country: a.country.clone(),
        }),
        phone: c.phone.clone(),
        vat_number: c.vat_number.clone(),
        legal_form: c.legal_form.as_deref().map(legal_form_code),
        legal_representatives,
        tax_treatment: c.tax_deduction_eligibility.as_deref().and_then(v2_tax),
        default_claim_type: c.default_claim_type.clone(),
        payout: c.iban.as_ref().map(|iban| Payout {
            account_holder: c
                .v2
                .payout_account_holder
                .clone()
                .unwrap_or_else(|| c.name.clone().unwrap_or_default()),
            iban: iban.clone(),
            bic: c.v2.payout_bic.clone(),
        }),
        channels,
        external_reference: c.v2.external_reference.clone(),
        data_sharing_basis: c.v2.data_sharing_basis.clone(),
    }
}

/// Writes into `c` what differs between `before` (its current view) and `after`.
fn store_view(c: &mut Company, before: &View, after: &View) {
    if before.name != after.name {
        c.name = Some(after.name.clone());
    }
    if before.address != after.address {
        c.address = after.address.as_ref().map(|a| CompanyAddress {
            street: a.street.clone(),
            zip: a.postal_code.clone(),
            city: a.city.clone(),
            country: a.country.clone(),
        });
    }
    if before.phone != after.phone {
        c.phone.clone_from(&after.phone);
    }
    if before.vat_number != after.vat_number {
        c.vat_number.clone_from(&after.vat_number);
    }
    if before.legal_form != after.legal_form {
        c.legal_form.clone_from(&after.legal_form);
    }
    if before.legal_representatives != after.legal_representatives {
        c.legal_representatives = v1_representatives(&after.legal_representatives);
        c.v2.legal_representatives = Some(after.legal_representatives.clone());
    }
    if before.tax_treatment != after.tax_treatment {
        c.tax_deduction_eligibility = after.tax_treatment.as_deref().and_then(v1_tax);
    }
    if before.default_claim_type != after.default_claim_type {
        c.default_claim_type.clone_from(&after.default_claim_type);
    }
    if before.payout != after.payout {
        c.iban = after.payout.as_ref().map(|p| p.iban.clone());
        c.v2.payout_account_holder = after.payout.as_ref().map(|p| p.account_holder.clone());
        c.v2.payout_bic = after.payout.as_ref().and_then(|p| p.bic.clone());
    }
    if before.channels != after.channels {
        c.notification_channels = v1_channels(&after.channels);
        c.v2.notification_channels = Some(after.channels.clone());
    }
    c.v2.external_reference.clone_from(&after.external_reference);
    c.v2.data_sharing_basis.clone_from(&after.data_sharing_basis);
}

/// The gaps between the company's data and a case submission.
fn readiness(v: &View) -> Vec<Value> {
    let mut issues = Vec::new();
    let mut issue = |code: &str, field: &str, message: String| {
        issues.push(json!({"code": code, "field": field, "message": message}));
    };
    if v.name.trim().is_empty() {
        issue("missing", "name", "Add the company's name.".into());
    }
    if v.address.is_none() {
        issue("missing", "address", "Add the company's postal address.".into());
    }
    match &v.legal_form {
        None => issue(
            "missing",
            "legal_form",
            "Choose a legal form from GET /partner/v2/legal-forms/.".into(),
        ),
        Some(form) => {
            for role in representative_roles(form) {
                if !v.legal_representatives.iter().any(|r| r.kind == *role) {
                    issue(
                        "missing_legal_representative",
                        "legal_representatives",
                        format!("The legal form {form} needs a legal representative of type {role}."),
                    );
                }
            }
        }
    }
    match v.tax_treatment.as_deref() {
        None => issue("missing", "tax_treatment", "Choose the company's tax treatment.".into()),
        Some("reverse_charge") if v.vat_number.is_none() => {
            issue(
                "missing",
                "vat_number",
                "reverse_charge needs the company's VAT number.".into(),
            );
        }
        _ => {}
    }
    if v.payout.is_none() {
        issue("missing", "payout_bank_account", "Add the payout bank account.".into());
    }
    for kind in ["requests_to_client", "statements"] {
        if !v.channels.iter().any(|c| c.notifications.iter().any(|n| n == kind)) {
            issue(
                "missing_recipient",
                "notification_channels",
                format!("Add an e-mail recipient for {kind}."),
            );
        }
    }
    issues
}

/// Whether a first case of company `number` went in, in `mode`: a v1 claim past `created`
/// (v2 orders submit v1 claims) or a mandate.
fn first_case_submitted(db: &Db, number: u64, mode: AccessMode) -> bool {
    let scope = Scope { company: number, mode };
    db.claims
        .iter(&scope)
        .any(|c| c.submission_state != SubmissionState::Created)
        || db.mandates.iter(&scope).next().is_some()
}

fn customer_number(c: &Company) -> String {
    (10_000_000 + c.number).to_string()
}

/// Company `c`'s Case Management scope in `mode`.
fn company_scope(c: &Company, mode: AccessMode) -> Scope {
    Scope {
        company: c.number,
        mode,
    }
}

fn company_path(id: Uuid) -> String {
    format!("/partner/v2/companies/{id}/")
}

/// Emits membership `m`'s lifecycle event (`company.user.added`, `.revoked`, `.activated`,
/// `.invite_expired`) to its Partner account: `{company_url, membership_id}`.
fn emit_membership(db: &mut Db, state: &AppState, kind: &str, m: &Membership) {
    emit_lifecycle(
        db,
        state,
        m.account,
        m.scope,
        kind,
        json!({"company_url": company_path(m.company), "membership_id": m.id.to_string()}),
    );
}

/// Changes membership `m` with `change`, stamped `updated_at = now`; returns it as changed (404
/// where it is gone).
fn change_membership(
    db: &mut Db,
    m: &Membership,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut Membership),
) -> Result<Membership, V2Error> {
    db.v2_memberships
        .update(&m.scope, &m.id.to_string(), |slot| {
            change(slot);
            slot.updated_at = now;
            slot.clone()
        })
        .ok_or_else(V2Error::not_found)
}

/// The company as v2 shows it in `mode`; `users` for the detail (`None`: a list row).
fn render_company(c: &Company, mode: AccessMode, users: Option<Vec<Value>>) -> Value {
    let v = view(c);
    let issues = readiness(&v);
    let mut out = json!({
        "id": c.id.to_string(),
        "name": v.name,
        "customer_number": customer_number(c),
        "external_reference": v.external_reference,
        "address": v.address.as_ref().map(|a| json!({
            "street": a.street, "postal_code": a.postal_code, "city": a.city, "country": a.country,
        })),
        "phone": v.phone,
        "legal_form": v.legal_form,
        "legal_representatives": v.legal_representatives,
        "tax_treatment": v.tax_treatment,
        "vat_number": v.vat_number,
        "default_claim_type": v.default_claim_type,
        "payout_bank_account": v.payout.as_ref().map(|p| json!({
            "account_holder": p.account_holder, "iban": p.iban, "bic": p.bic,
        })),
        "notification_channels": v.channels.iter().map(|ch| json!({
            "type": "email", "value": ch.value, "notifications": ch.notifications,
        })).collect::<Vec<_>>(),
        "onboarding_mode": c.v2.onboarding_mode(),
        "onboarding_status": c.v2.onboarding_status(),
        "case_access": c.v2.case_access(),
        "case_submission_readiness": {"ready": issues.is_empty(), "issues": issues},
        "sandbox_origin": sandbox_origin(mode),
        "created_at": c.v2.created_at.as_ref().map(ts),
        "updated_at": c.v2.updated_at.as_ref().map(ts),
    });
    if let (Value::Object(m), Some(users)) = (&mut out, users) {
        m.insert("users".into(), Value::Array(users));
    }
    out
}

/// The memberships of `c` added in `mode`, oldest first.
fn memberships_of<'a>(db: &'a Db, c: &Company, mode: AccessMode) -> Vec<&'a Membership> {
    let scope = company_scope(c, mode);
    db.v2_memberships.lookup(&scope, "company", &c.id.to_string()).collect()
}

fn render_detail(db: &Db, c: &Company, mode: AccessMode) -> Value {
    let users = memberships_of(db, c, mode)
        .into_iter()
        .map(Membership::render)
        .collect();
    render_company(c, mode, Some(users))
}

fn partner_key(caller: &V2Caller) -> Result<&PartnerKey, V2Error> {
    caller
        .partner
        .as_ref()
        .ok_or_else(|| V2Error::forbidden("The Partner API needs a Partner key."))
}

/// Runs a Partner's idempotent command `command` (given the store, the Partner's key, the
/// caller's mode and now) inside one store write.
fn partner_command(
    state: &AppState,
    caller: &V2Caller,
    idem: &Idem,
    body: &Map<String, Value>,
    command: impl FnOnce(&mut Db, &PartnerKey, AccessMode, DateTime<Utc>) -> Result<(StatusCode, Value), V2Error>,
) -> Result<Response, V2Error> {
    let key = partner_key(caller)?.clone();
    let mode = caller.scope.mode;
    idem.run(state, caller, body, || {
        let now = state.now();
        state.store.write(|db| command(db, &key, mode, now))
    })
}

/// The Partner's company `raw` in `mode`: 404 for a malformed id, another Partner's company, one
/// of the other environment, or a released one.
fn find_company(db: &Db, account: u64, mode: AccessMode, raw: &str) -> Result<Company, V2Error> {
    let id = Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?;
    db.partner_company(account, &id)
        .filter(|c| c.v2.visible(mode))
        .cloned()
        .ok_or_else(V2Error::not_found)
}

// ---------------------------------------------------------------------------------------------
// Partner counters (as v1 numbers its records)
// ---------------------------------------------------------------------------------------------

/// Changes the counters of `account` the way v1's partner handlers do (one record per account,
/// made on first use).
fn counters<R>(db: &mut Db, account: u64, change: impl FnOnce(&mut PartnerAccount) -> R) -> R {
    let mut a = db
        .partner_accounts
        .remove(&(), &account.to_string())
        .unwrap_or_else(|| PartnerAccount::new(account));
    let out = change(&mut a);
    if let Err(e) = db.partner_accounts.insert(a) {
        tracing::warn!("partner counters not kept: {e}");
    }
    out
}

/// The next sequence number of a partner record (one more than any account used), as v1 draws it.
fn partner_seq(db: &mut Db, account: u64) -> u64 {
    let last = db.partner_accounts.iter_all().map(|a| a.last_seq).max().unwrap_or(0);
    counters(db, account, |a| {
        a.last_seq = last + 1;
        a.last_seq
    })
}

/// The internal company number of `account`'s next company, as v1 allocates it.
fn company_number(db: &mut Db, account: u64) -> u64 {
    counters(db, account, |a| {
        let n = FIRST_COMPANY_NUMBER + a.next_company;
        a.next_company += 1;
        n
    })
}

// ---------------------------------------------------------------------------------------------
// Reading bodies
// ---------------------------------------------------------------------------------------------

/// The company keys of create and PATCH (PATCH adds `onboarding_mode` only to refuse it).
const COMPANY_KEYS: &[&str] = &[
    "name",
    "address",
    "phone",
    "vat_number",
    "legal_form",
    "default_claim_type",
    "tax_treatment",
    "legal_representatives",
    "notification_channels",
    "payout_bank_account",
    "external_reference",
    "data_sharing_basis",
    "onboarding_mode",
    "users",
];

/// An address in a body: every key on create (and on PATCH of a company without one); the sent
/// ones on PATCH.
#[derive(Debug, Clone, Default)]
struct AddressInput {
    street: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    country: Option<String>,
}

/// The company members of a create or PATCH body.
struct CompanyInput {
    name: Patch<String>,
    address: Patch<AddressInput>,
    phone: Patch<String>,
    vat_number: Patch<String>,
    legal_form: Patch<String>,
    default_claim_type: Patch<String>,
    tax_treatment: Patch<String>,
    legal_representatives: Patch<Vec<Representative>>,
    notification_channels: Patch<Vec<Channel>>,
    payout: Patch<Payout>,
    external_reference: Patch<String>,
    data_sharing_basis: Patch<String>,
}

fn is_e164(v: &str) -> bool {
    v.strip_prefix('+')
        .is_some_and(|d| (7..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()) && !d.starts_with('0'))
}

/// A string member that may not be null or blank when sent.
fn present_string(o: &Obj<'_>, name: &str, max: usize, errs: &mut Errs) -> Option<String> {
    match o.string(name, max, errs) {
        Patch::Set(s) if s.trim().is_empty() => {
            errs.push(&o.path(name), "blank", "This field may not be blank.");
            None
        }
        Patch::Set(s) => Some(s.trim().to_string()),
        Patch::Clear => {
            errs.push(&o.path(name), "null", "This field may not be null.");
            None
        }
        Patch::Keep => None,
    }
}

fn read_address(m: &Map<String, Value>, at: &str, full: bool, errs: &mut Errs) -> Option<AddressInput> {
    let a = Obj::new(m, at, &["street", "postal_code", "city", "country"], errs);
    let get = |k: &str, max: usize, errs: &mut Errs| {
        if full {
            a.req_string(k, max, errs).map(|s| s.trim().to_string())
        } else {
            present_string(&a, k, max, errs)
        }
    };
    let street = get("street", 255, errs);
    let postal_code = get("postal_code", 20, errs);
    let city = get("city", 255, errs);
    let country = get("country", 2, errs);
    if let Some(c) = &country
        && !is_country(c)
    {
        errs.push(
            &a.path("country"),
            "invalid_choice",
            format!("\"{c}\" is not a valid choice; use an ISO 3166-1 alpha-2 code."),
        );
    }
    Some(AddressInput {
        street,
        postal_code,
        city,
        country,
    })
}

fn read_payout(m: &Map<String, Value>, at: &str, errs: &mut Errs) -> Option<Payout> {
    let b = Obj::new(m, at, &["account_holder", "iban", "bic"], errs);
    let holder = b.req_string("account_holder", 255, errs);
    let iban = b
        .req_string("iban", 42, errs)
        .map(|i| mock_core::bank::compact_iban(&i));
    let bic = b.bic(errs);
    let iban = iban?;
    if !b.bank_account_holds(&iban, bic.as_deref(), errs) {
        return None;
    }
    Some(Payout {
        account_holder: holder?.trim().to_string(),
        iban,
        bic,
    })
}

fn read_channel(m: &Map<String, Value>, at: &str, errs: &mut Errs) -> Option<Channel> {
    let c = Obj::new(m, at, &["type", "value", "notifications"], errs);
    let kind = c.req_value("type", c.choice("type", &["email"], errs), errs);
    let value = c.req_string("value", 254, errs).map(|v| v.trim().to_string());
    if let Some(v) = &value
        && !looks_like_email(v)
    {
        errs.push(&c.path("value"), "invalid", "Enter a valid email address.");
    }
    let notifications = match c.strings("notifications", NOTIFICATIONS, NOTIFICATIONS.len(), errs) {
        Patch::Set(n) if !n.is_empty() => {
            let mut unique: Vec<String> = Vec::new();
            for x in n {
                if !unique.contains(&x) {
                    unique.push(x);
                }
            }
            unique
        }
        _ => all_notifications(),
    };
    kind?;
    Some(Channel {
        value: value?,
        notifications,
    })
}

fn read_representative(m: &Map<String, Value>, at: &str, errs: &mut Errs) -> Option<Representative> {
    let r = Obj::new(m, at, &["name", "type"], errs);
    let name = r.req_string("name", 255, errs);
    let kind = r.req_value("type", r.choice("type", REPRESENTATIVE_TYPES, errs), errs);
    Some(Representative {
        name: name?.trim().to_string(),
        kind: kind?,
    })
}

fn read_company(body: &Map<String, Value>, create: bool, errs: &mut Errs) -> CompanyInput {
    let keys: Vec<&str> = COMPANY_KEYS
        .iter()
        .copied()
        .filter(|k| create || *k != "users")
        .collect();
    let o = Obj::new(body, "", &keys, errs);
    let name = if create {
        o.req_string("name", 255, errs)
            .map_or(Patch::Keep, |s| Patch::Set(s.trim().to_string()))
    } else {
        present_string(&o, "name", 255, errs).map_or(Patch::Keep, Patch::Set)
    };
    let address = o.object("address", errs, |m, at, errs| read_address(m, at, create, errs));
    let phone = o.opt_string("phone", 20, errs);
    if let Patch::Set(p) = &phone
        && !is_e164(p.trim())
    {
        errs.push(
            "phone",
            "invalid",
            "Enter the phone number in E.164 format (+4930123456).",
        );
    }
    let phone = match phone {
        Patch::Set(p) => Patch::Set(p.trim().to_string()),
        other => other,
    };
    let vat_number = match o.opt_string("vat_number", 50, errs) {
        Patch::Set(v) => Patch::Set(v.trim().to_string()),
        other => other,
    };
    let legal_form = match o.string("legal_form", 50, errs) {
        Patch::Set(f) if legal_form_codes().contains(&f.as_str()) => Patch::Set(f),
        Patch::Set(f) => {
            errs.push(
                "legal_form",
                "invalid_choice",
                format!("\"{f}\" is not a code of GET /partner/v2/legal-forms/."),
            );
            Patch::Keep
        }
        other => other,
    };
    let default_claim_type = o.choice("default_claim_type", DEFAULT_CLAIM_TYPES, errs);
    let tax_treatment = o.choice("tax_treatment", TAX_TREATMENTS, errs);
    let legal_representatives = o.list("legal_representatives", MAX_REPRESENTATIVES, errs, read_representative);
    let notification_channels = o.list("notification_channels", MAX_CHANNELS, errs, read_channel);
    let payout = o.object("payout_bank_account", errs, read_payout);
    let external_reference = match o.opt_string("external_reference", 255, errs) {
        Patch::Set(r) => Patch::Set(r.trim().to_string()),
        other => other,
    };
    let data_sharing_basis = o.choice("data_sharing_basis", DATA_SHARING_BASES, errs);
    CompanyInput {
        name,
        address,
        phone,
        vat_number,
        legal_form,
        default_claim_type,
        tax_treatment,
        legal_representatives,
        notification_channels,
        payout,
        external_reference,
        data_sharing_basis,
    }
}

/// `before` with `input` applied, checked for what the data itself must satisfy (400s).
fn apply_input(before: &View, input: CompanyInput, errs: &mut Errs) -> View {
    let mut v = before.clone();
    let sent_reps = input.legal_representatives.sent();
    let sent_form = input.legal_form.sent();
    let cleared_form = matches!(input.legal_form, Patch::Clear);
    let sent_tax = input.tax_treatment.sent();
    let sent_vat = input.vat_number.sent();
    let sent_address = input.address.sent();
    if let Patch::Set(n) = input.name {
        v.name = n;
    }
    match input.address {
        Patch::Keep => {}
        Patch::Clear => v.address = None,
        Patch::Set(a) => {
            let old = before.address.clone();
            let pick = |new: Option<String>, old: Option<&String>, k: &str, errs: &mut Errs| {
                new.or_else(|| old.cloned()).or_else(|| {
                    errs.push(
                        &format!("address.{k}"),
                        "required",
                        "The company has no address yet: send street, postal_code, city and country.",
                    );
                    None
                })
            };
            let street = pick(a.street, old.as_ref().map(|o| &o.street), "street", errs);
            let postal_code = pick(a.postal_code, old.as_ref().map(|o| &o.postal_code), "postal_code", errs);
            let city = pick(a.city, old.as_ref().map(|o| &o.city), "city", errs);
            let country = pick(a.country, old.as_ref().map(|o| &o.country), "country", errs);
            if let (Some(street), Some(postal_code), Some(city), Some(country)) = (street, postal_code, city, country) {
                v.address = Some(Address {
                    street,
                    postal_code,
                    city,
                    country,
                });
            }
        }
    }
    input.phone.apply(&mut v.phone);
    input.vat_number.apply(&mut v.vat_number);
    input.legal_form.apply(&mut v.legal_form);
    input.default_claim_type.apply(&mut v.default_claim_type);
    input.tax_treatment.apply(&mut v.tax_treatment);
    match input.legal_representatives {
        Patch::Keep => {}
        Patch::Clear => v.legal_representatives.clear(),
        Patch::Set(r) => v.legal_representatives = r,
    }
    match input.notification_channels {
        Patch::Keep => {}
        Patch::Clear => v.channels.clear(),
        Patch::Set(c) => v.channels = c,
    }
    input.payout.apply(&mut v.payout);
    input.external_reference.apply(&mut v.external_reference);
    match input.data_sharing_basis {
        // Not declared (or declared: the conflict check refuses taking it back).
        Patch::Clear if before.data_sharing_basis.is_none() => {}
        other => other.apply(&mut v.data_sharing_basis),
    }
    // The representatives need a legal form, and must fit it.
    if !v.legal_representatives.is_empty() && (sent_reps || sent_form) {
        match &v.legal_form {
            None if cleared_form => errs.push(
                "legal_form",
                "invalid",
                "The legal form cannot be cleared while legal representatives remain.",
            ),
            None => errs.push(
                "legal_representatives",
                "invalid",
                "Legal representatives need a legal_form.",
            ),
            Some(form) => {
                let roles = representative_roles(form);
                let sole = matches!(legal_form_group(form), Some("privatperson" | "einzelkaufmann"));
                for (i, r) in v.legal_representatives.iter().enumerate() {
                    let fits = if !roles.is_empty() {
                        roles.contains(&r.kind.as_str())
                    } else if sole {
                        r.kind == "owner"
                    } else {
                        true
                    };
                    if !fits {
                        let allowed = if roles.is_empty() {
                            vec!["owner"]
                        } else {
                            roles.to_vec()
                        };
                        errs.push(
                            &format!("legal_representatives[{i}].type"),
                            "invalid",
                            format!(
                                "A {} does not represent a company of legal form {form}; use {}.",
                                r.kind,
                                allowed.join(" or ")
                            ),
                        );
                    }
                }
            }
        }
    }
    if (sent_tax || sent_vat) && v.tax_treatment.as_deref() == Some("reverse_charge") && v.vat_number.is_none() {
        errs.push(
            "vat_number",
            "required",
            "reverse_charge needs the company's VAT number.",
        );
    }
    if (sent_tax || sent_address)
        && let (Some(t), Some(a)) = (&v.tax_treatment, &v.address)
    {
        let eu = EU.contains(&a.country.as_str());
        let fits = match t.as_str() {
            "reverse_charge" => eu,
            "third_country_non_taxable" => !eu,
            _ => true,
        };
        if !fits {
            errs.push(
                "tax_treatment",
                "invalid",
                format!("{t} does not fit a company in {}.", a.country),
            );
        }
    }
    v
}

/// A membership request (`POST …/users/` and inline `users[]`).
#[derive(Debug, Clone)]
struct MemberInput {
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    skip_email_verification: bool,
}

fn read_member(m: &Map<String, Value>, at: &str, errs: &mut Errs) -> Option<MemberInput> {
    let o = Obj::new(
        m,
        at,
        &["email", "first_name", "last_name", "role", "skip_email_verification"],
        errs,
    );
    let email = o.req_string("email", 254, errs).map(|e| e.trim().to_string());
    if let Some(e) = &email
        && !looks_like_email(e)
    {
        errs.push(&o.path("email"), "invalid", "Enter a valid email address.");
    }
    let first_name = o.req_string("first_name", 150, errs);
    let last_name = o.req_string("last_name", 150, errs);
    let role = o.req_value("role", o.choice("role", ROLES, errs), errs);
    let skip = match o.boolean("skip_email_verification", errs) {
        Patch::Set(b) => b,
        _ => false,
    };
    Some(MemberInput {
        email: email?,
        first_name: first_name?.trim().to_string(),
        last_name: last_name?.trim().to_string(),
        role: role?,
        skip_email_verification: skip,
    })
}

fn new_membership(
    state: &AppState,
    c: &Company,
    mode: AccessMode,
    input: &MemberInput,
    now: DateTime<Utc>,
) -> Membership {
    Membership {
        seq: state.ids.next_seq(),
        scope: company_scope(c, mode),
        id: state.ids.uuid(),
        account: c.account,
        company: c.id,
        email: input.email.clone(),
        first_name: input.first_name.clone(),
        last_name: input.last_name.clone(),
        role: input.role.clone(),
        status: MembershipStatus::PendingSetup,
        invite_expires_at: Some(now + Duration::days(INVITE_DAYS)),
        setup_token: Some(new_token(state)),
        email_verified: input.skip_email_verification,
        revoked_at: None,
        revocation_reason: None,
        revoked_by_token_id: None,
        created_at: now,
        updated_at: now,
    }
}

fn new_token(state: &AppState) -> String {
    format!("{}{}", state.ids.uuid().simple(), state.ids.uuid().simple())
}

fn may_skip_verification(key: &PartnerKey) -> bool {
    key.scopes.iter().any(|s| s == API_ONLY_ONBOARDING)
}

fn skip_not_allowed() -> V2Error {
    V2Error::new(
        StatusCode::FORBIDDEN,
        "permission_denied",
        "skip_email_verification needs a Partner entitlement this key lacks (in the mock: the key permission API_ONLY_ONBOARDING).",
    )
}

/// The conflicts of a new or changed company with the Partner's other companies and with what
/// was declared before (409s): a taken `external_reference`, a different `data_sharing_basis`.
fn company_conflicts(db: &Db, c: &Company, mode: AccessMode, before: &View, after: &View) -> Result<(), V2Error> {
    if let Some(r) = &after.external_reference
        && before.external_reference.as_ref() != Some(r)
        && let Some(other) = db
            .partner_companies
            .lookup(&c.account, "external_reference", r)
            .find(|o| o.id != c.id && o.v2.visible(mode))
    {
        return Err(V2Error::conflict(
            "company_exists",
            "A company of this Partner already has this external_reference.",
        )
        .with("company_id", Value::String(other.id.to_string())));
    }
    if let Some(declared) = &before.data_sharing_basis
        && after.data_sharing_basis.as_ref() != Some(declared)
    {
        return Err(V2Error::conflict(
            "data_sharing_basis_already_declared",
            format!("The data sharing basis is already declared as {declared}; only the same value may be sent again."),
        ));
    }
    Ok(())
}

/// The field locks of §4.15.3 (409s); unchanged values always pass.
fn company_locks(
    db: &Db,
    c: &Company,
    mode: AccessMode,
    before: &View,
    after: &View,
    channels_sent: bool,
) -> Result<(), V2Error> {
    let submitted = first_case_submitted(db, c.number, mode);
    let complete = c.data_submission_completed;
    if complete && before.legal_representatives != after.legal_representatives {
        return Err(V2Error::conflict(
            "legal_representatives_locked",
            "The company's data submission is complete; its legal representatives can no longer be changed.",
        ));
    }
    if complete && submitted {
        let changed: Vec<&str> = [
            ("name", before.name != after.name),
            ("legal_form", before.legal_form != after.legal_form),
            ("tax_treatment", before.tax_treatment != after.tax_treatment),
            ("vat_number", before.vat_number != after.vat_number),
        ]
        .into_iter()
        .filter_map(|(f, c)| c.then_some(f))
        .collect();
        if !changed.is_empty() {
            return Err(V2Error::conflict(
                "identity_locked",
                format!(
                    "The company's identity is locked (its data is complete and a case went in): {} can no longer be changed through the API.",
                    changed.join(", ")
                ),
            ));
        }
    }
    if submitted && before.payout != after.payout {
        return Err(V2Error::conflict(
            "payout_bank_account_locked",
            "After the first case submission the payout account changes only through the secured process in the paywise portal.",
        ));
    }
    if submitted && channels_sent {
        for kind in ["requests_to_client", "statements"] {
            if !after
                .channels
                .iter()
                .any(|ch| ch.notifications.iter().any(|n| n == kind))
            {
                return Err(V2Error::conflict(
                    "notification_recipients_required",
                    format!("After the first case submission a recipient for {kind} must remain."),
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// The routes (nested under `/partner/v2`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/companies/", get(list_companies).post(create_company))
        .route("/companies/{p1}/", get(get_company).patch(update_company))
        .route("/companies/{p1}/release/", post(release_company))
        .route("/companies/{p1}/users/", get(list_memberships).post(add_membership))
        .route(
            "/companies/{p1}/users/{p2}/",
            get(get_membership).patch(update_membership),
        )
        .route("/companies/{p1}/users/{p2}/cancel/", post(cancel_membership))
        .route("/companies/{p1}/users/{p2}/resend/", post(resend_membership))
        .route("/companies/{p1}/users/{p2}/revoke/", post(revoke_membership))
}

/// Mock-only routes (to merge at the root, under `/_mock/paywise/v2/`), standing in for the
/// company's people:
/// - `POST /_mock/paywise/v2/companies/{id}/confirm`: the administrator confirms a `web_flow`
///   company (`confirmed`, case access `available`, `company.access.confirmed`);
/// - `POST /_mock/paywise/v2/memberships/{id}/activate`: the user accepts the invitation
///   (`active`, `company.user.activated`);
/// - `POST /_mock/paywise/v2/memberships/{id}/expire-invite`: the invitation runs out now
///   (`company.user.invite_expired`; resend issues a new one);
/// - `GET /_mock/paywise/v2/setup/{token}`: the page every `setup_url` opens.
///
/// Each answers the changed company or membership as the Partner API shows it.
pub fn control_router() -> Router<AppState> {
    Router::new()
        .route("/_mock/paywise/v2/companies/{p1}/confirm", post(control_confirm))
        .route("/_mock/paywise/v2/memberships/{p1}/activate", post(control_activate))
        .route("/_mock/paywise/v2/memberships/{p1}/expire-invite", post(control_expire))
        .route("/_mock/paywise/v2/setup/{p1}", get(setup_page))
}

/// Splits a search into lower-case terms; a double-quoted phrase stays one term.
fn search_terms(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let flush = |current: &mut String, out: &mut Vec<String>| {
        let t = current.trim().to_lowercase();
        if !t.is_empty() {
            out.push(t);
        }
        current.clear();
    };
    for ch in raw.chars() {
        match ch {
            '"' => {
                flush(&mut current, &mut out);
                quoted = !quoted;
            }
            c if c.is_whitespace() && !quoted => flush(&mut current, &mut out),
            c => current.push(c),
        }
    }
    flush(&mut current, &mut out);
    out
}

fn sync_key(c: &Company) -> (DateTime<Utc>, Uuid) {
    (c.v2.updated_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH), c.id)
}

async fn list_companies(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let account = partner_key(&caller)?.account;
    let mode = caller.scope.mode;
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let customer = q.string("customer_number");
    let external = q.string("external_reference");
    let search = q.string("search").map(|s| search_terms(&s)).unwrap_or_default();
    let ordering = q.ordering(&["name"]);
    if ordering.len() > 1 {
        q.errs.push("ordering", "invalid", "Order by name or -name only.");
    }
    q.finish()?;
    let descending = ordering.first().is_some_and(|(_, desc)| *desc);
    let mut rows: Vec<Company> = state.store.read(|db| {
        db.partner_companies
            .iter(&account)
            .filter(|c| c.v2.visible(mode))
            .filter(|c| customer.as_ref().is_none_or(|n| *n == customer_number(c)))
            .filter(|c| {
                external
                    .as_ref()
                    .is_none_or(|r| c.v2.external_reference.as_ref() == Some(r))
            })
            .filter(|c| {
                let name = c.name.as_deref().unwrap_or_default().to_lowercase();
                search.iter().all(|t| name.contains(t.as_str()))
            })
            .cloned()
            .collect()
    });
    rows.sort_by(|a, b| {
        let key = |c: &Company| c.name.as_deref().unwrap_or_default().to_lowercase();
        let by_name = key(a).cmp(&key(b));
        let by_name = if descending { by_name.reverse() } else { by_name };
        by_name.then(a.seq.cmp(&b.seq))
    });
    Ok(paged(&origin, &paging, state.now(), rows, sync_key, |c| {
        render_company(c, mode, None)
    }))
}

async fn create_company(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let key = partner_key(&caller)?.clone();
    let mode = caller.scope.mode;
    idem.run(&state, &caller, &body, || {
        let mut errs = Errs::default();
        let input = read_company(&body, true, &mut errs);
        let onboarding = Obj {
            map: &body,
            at: String::new(),
        }
        .choice("onboarding_mode", ONBOARDING_MODES, &mut errs);
        let users = Obj {
            map: &body,
            at: String::new(),
        }
        .list("users", MAX_INLINE_USERS, &mut errs, read_member);
        let onboarding = match onboarding {
            Patch::Set(m) => OnboardingMode::parse(&m),
            Patch::Clear | Patch::Keep if !matches!(body.get("onboarding_mode"), Some(v) if !v.is_null()) => {
                let mut e = V2Error::new(
                    StatusCode::BAD_REQUEST,
                    "onboarding_mode_required",
                    "Choose onboarding_mode: api_only or web_flow.",
                );
                e.errors.push(ErrorItem {
                    code: "required".into(),
                    field: Some("onboarding_mode".into()),
                    message: "This field is required.".into(),
                });
                return Err(e);
            }
            // An invalid choice: `errs` holds its error.
            _ => None,
        };
        let users = match users {
            Patch::Set(u) => u,
            _ => Vec::new(),
        };
        if !users.is_empty() && !users.iter().any(|u| u.role == "admin") {
            errs.push(
                "users",
                "admin_required",
                "At least one of the users must have the role admin.",
            );
        }
        for (i, u) in users.iter().enumerate() {
            if users[..i].iter().any(|o| o.email.eq_ignore_ascii_case(&u.email)) {
                errs.push(
                    &format!("users[{i}].email"),
                    "duplicate",
                    "This e-mail address is in the list twice.",
                );
            }
        }
        let blank = Company::blank(0, key.account, Uuid::nil(), 0);
        let before = view(&blank);
        let after = apply_input(&before, input, &mut errs);
        errs.finish(())?;
        let Some(onboarding) = onboarding else {
            return Err(V2Error::field("onboarding_mode", "required", "This field is required."));
        };
        if onboarding == OnboardingMode::ApiOnly && !key.scopes.iter().any(|s| s == API_ONLY_ONBOARDING) {
            return Err(V2Error::new(
                StatusCode::FORBIDDEN,
                "onboarding_mode_not_allowed",
                "This Partner is not entitled to onboard companies in the api_only mode; use web_flow.",
            ));
        }
        if users.iter().any(|u| u.skip_email_verification) && !may_skip_verification(&key) {
            return Err(skip_not_allowed());
        }
        let now = state.now();
        state.store.write(|db| {
            company_conflicts(db, &blank, mode, &before, &after)?;
            allowance(
                &window(db, key.account, mode, now, false),
                1,
                COMPANY_CREATIONS_PER_HOUR,
                "company creations",
                now,
            )?;
            allowance(
                &window(db, key.account, mode, now, true),
                users.len(),
                MEMBERSHIP_ADDITIONS_PER_HOUR,
                "membership additions",
                now,
            )?;
            let api_only = onboarding == OnboardingMode::ApiOnly;
            let mut c = blank.clone();
            c.seq = partner_seq(db, key.account);
            c.id = state.ids.uuid();
            c.number = company_number(db, key.account);
            store_view(&mut c, &before, &after);
            c.v2.mode = Some(mode);
            c.v2.onboarding_mode = Some(onboarding);
            c.v2.onboarding_status = Some(if api_only {
                OnboardingStatus::ConfirmationNotRequired
            } else {
                OnboardingStatus::ConfirmationPending
            });
            c.v2.case_access = Some(CaseAccess::at_onboarding(onboarding));
            c.v2.authorization_version = u64::from(api_only);
            c.v2.created_at = Some(now);
            c.v2.updated_at = Some(now);
            let ready = readiness(&after).is_empty();
            c.data_submission_completed = ready;
            let members: Vec<Membership> = users.iter().map(|u| new_membership(&state, &c, mode, u, now)).collect();
            let fresh: Vec<Value> = members.iter().map(|m| m.render_with_setup_url(&origin)).collect();
            let out = render_company(&c, mode, Some(fresh));
            let scope = company_scope(&c, mode);
            let company = c.id;
            let url = company_path(company);
            let customer = customer_number(&c);
            db.partner_companies
                .insert(c)
                .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
            emit_lifecycle(
                db,
                &state,
                key.account,
                scope,
                "company.created",
                json!({"company_url": url, "case_submission_ready": ready, "customer_number": customer}),
            );
            for m in members {
                if let Err(e) = db.v2_memberships.insert(m.clone()) {
                    tracing::warn!("membership not kept: {e}");
                    continue;
                }
                emit_membership(db, &state, "company.user.added", &m);
            }
            Ok((StatusCode::CREATED, out))
        })
    })
}

async fn get_company(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    Path(p1): Path<String>,
) -> Result<Response, V2Error> {
    let account = partner_key(&caller)?.account;
    let mode = caller.scope.mode;
    let v = state.store.read(|db| {
        let c = find_company(db, account, mode, &p1)?;
        Ok::<_, V2Error>(render_detail(db, &c, mode))
    })?;
    Ok(show(&headers, v))
}

async fn update_company(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    Path(p1): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let key = partner_key(&caller)?.clone();
    let mode = caller.scope.mode;
    let now = state.now();
    state.store.write(|db| {
        let c = find_company(db, key.account, mode, &p1)?;
        if_match(&headers, &render_detail(db, &c, mode))?;
        if body.contains_key("onboarding_mode") {
            return Err(V2Error::conflict(
                "onboarding_mode_immutable",
                "onboarding_mode is fixed when the company is onboarded.",
            ));
        }
        let mut errs = Errs::default();
        let input = read_company(&body, false, &mut errs);
        let channels_sent = input.notification_channels.sent();
        let before = view(&c);
        let after = apply_input(&before, input, &mut errs);
        errs.finish(())?;
        if after == before {
            return Ok(respond(StatusCode::OK, render_detail(db, &c, mode)));
        }
        company_conflicts(db, &c, mode, &before, &after)?;
        company_locks(db, &c, mode, &before, &after, channels_sent)?;
        let was_ready = readiness(&before).is_empty();
        let ready = readiness(&after).is_empty();
        let mut next = c.clone();
        store_view(&mut next, &before, &after);
        next.v2.updated_at = Some(now);
        next.data_submission_completed = c.data_submission_completed || ready;
        let key_id = c.id.to_string();
        db.partner_companies.update(&key.account, &key_id, |slot| *slot = next);
        if was_ready != ready {
            emit_lifecycle(
                db,
                &state,
                key.account,
                company_scope(&c, mode),
                "company.case_submission_readiness.changed",
                json!({"company_url": company_path(c.id), "case_submission_ready": ready}),
            );
        }
        let c = find_company(db, key.account, mode, &p1)?;
        Ok(respond(StatusCode::OK, render_detail(db, &c, mode)))
    })
}

async fn release_company(
    State(state): State<AppState>,
    caller: V2Caller,
    idem: Idem,
    Path(p1): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    partner_command(&state, &caller, &idem, &body, |db, key, mode, now| {
        let c = find_company(db, key.account, mode, &p1)?;
        let mut errs = Errs::default();
        let o = Obj::new(&body, "", &["reason"], &mut errs);
        if let Patch::Set(r) = o.string("reason", 5000, &mut errs)
            && r.contains(['\n', '\r'])
        {
            errs.push("reason", "invalid", "The reason must be a single line.");
        }
        errs.finish(())?;
        let version = c.v2.authorization_version + 1;
        let mut access = c.v2.case_access();
        access.apply(CaseAccessEvent::Released); // accepted from every state
        db.partner_companies.update(&key.account, &c.id.to_string(), |slot| {
            slot.v2.released = true;
            slot.v2.external_reference = None;
            slot.v2.case_access = Some(access);
            slot.v2.authorization_version = version;
            slot.v2.updated_at = Some(now);
        });
        let modes = match c.v2.mode {
            Some(m) => vec![m],
            None => vec![AccessMode::Test, AccessMode::Production],
        };
        for m in modes {
            release_orders(db, company_scope(&c, m));
        }
        emit_lifecycle(
            db,
            &state,
            key.account,
            company_scope(&c, mode),
            "company.access.revoked",
            json!({
                "company_url": company_path(c.id),
                "authorization_version": version,
                "reason": "partner_released",
            }),
        );
        Ok((
            StatusCode::OK,
            json!({"id": c.id.to_string(), "case_access": "unavailable"}),
        ))
    })
}

fn membership_sync_key(m: &Membership) -> (DateTime<Utc>, Uuid) {
    (m.updated_at, m.id)
}

async fn list_memberships(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(p1): Path<String>,
) -> Result<Response, V2Error> {
    let account = partner_key(&caller)?.account;
    let mode = caller.scope.mode;
    let rows: Vec<Membership> = state.store.read(|db| {
        let c = find_company(db, account, mode, &p1)?;
        Ok::<_, V2Error>(memberships_of(db, &c, mode).into_iter().cloned().collect())
    })?;
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    q.finish()?;
    Ok(paged(
        &origin,
        &paging,
        state.now(),
        rows,
        membership_sync_key,
        Membership::render,
    ))
}

async fn add_membership(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path(p1): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    partner_command(&state, &caller, &idem, &body, |db, key, mode, now| {
        let c = find_company(db, key.account, mode, &p1)?;
        let mut errs = Errs::default();
        let input = read_member(&body, "", &mut errs);
        errs.finish(())?;
        let Some(input) = input else {
            return Err(V2Error::field("", "invalid", "Invalid membership."));
        };
        if input.skip_email_verification && !may_skip_verification(key) {
            return Err(skip_not_allowed());
        }
        let current: Vec<&Membership> = memberships_of(db, &c, mode)
            .into_iter()
            .filter(|m| m.non_terminal())
            .collect();
        if current.is_empty() && input.role != "admin" {
            return Err(V2Error::conflict(
                "admin_required",
                "The company's first membership (cancelled and revoked ones aside) must have the role admin.",
            ));
        }
        if let Some(m) = current.iter().find(|m| m.email.eq_ignore_ascii_case(&input.email)) {
            return Err(V2Error::conflict(
                "membership_exists",
                "This e-mail address already has a pending or active membership in the company.",
            )
            .with("membership_id", Value::String(m.id.to_string())));
        }
        allowance(
            &window(db, key.account, mode, now, true),
            1,
            MEMBERSHIP_ADDITIONS_PER_HOUR,
            "membership additions",
            now,
        )?;
        let m = new_membership(&state, &c, mode, &input, now);
        let out = m.render_with_setup_url(&origin);
        db.v2_memberships
            .insert(m.clone())
            .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
        emit_membership(db, &state, "company.user.added", &m);
        Ok((StatusCode::CREATED, out))
    })
}

/// The company `p1` and its membership `p2` in `mode`.
fn find_membership(
    db: &Db,
    account: u64,
    mode: AccessMode,
    p1: &str,
    p2: &str,
) -> Result<(Company, Membership), V2Error> {
    let c = find_company(db, account, mode, p1)?;
    let id = Uuid::parse_str(p2).map_err(|_| V2Error::not_found())?;
    let m = db
        .v2_memberships
        .get(&company_scope(&c, mode), &id.to_string())
        .filter(|m| m.company == c.id)
        .cloned()
        .ok_or_else(V2Error::not_found)?;
    Ok((c, m))
}

async fn get_membership(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    Path((p1, p2)): Path<(String, String)>,
) -> Result<Response, V2Error> {
    let account = partner_key(&caller)?.account;
    let mode = caller.scope.mode;
    let (_, m) = state.store.read(|db| find_membership(db, account, mode, &p1, &p2))?;
    Ok(show(&headers, m.render()))
}

fn not_pending(m: &Membership, what: &str) -> V2Error {
    V2Error::conflict(
        "membership_not_pending",
        format!(
            "Only a pending_setup membership can be {what}; this one is {}.",
            m.status
        ),
    )
}

async fn update_membership(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    Path((p1, p2)): Path<(String, String)>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let account = partner_key(&caller)?.account;
    let mode = caller.scope.mode;
    let now = state.now();
    state.store.write(|db| {
        let (_, m) = find_membership(db, account, mode, &p1, &p2)?;
        if_match(&headers, &m.render())?;
        let mut errs = Errs::default();
        let o = Obj::new(&body, "", &["role"], &mut errs);
        let role = o.req_value("role", o.choice("role", ROLES, &mut errs), &mut errs);
        errs.finish(())?;
        let role = role.unwrap_or_default();
        if !m.status.is_pending() {
            return Err(not_pending(&m, "given another role"));
        }
        if role == m.role {
            return Ok(respond(StatusCode::OK, m.render()));
        }
        let m = change_membership(db, &m, now, |slot| slot.role = role)?;
        Ok(respond(StatusCode::OK, m.render()))
    })
}

async fn cancel_membership(
    State(state): State<AppState>,
    caller: V2Caller,
    idem: Idem,
    Path((p1, p2)): Path<(String, String)>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    partner_command(&state, &caller, &idem, &body, |db, key, mode, now| {
        let (_, m) = find_membership(db, key.account, mode, &p1, &p2)?;
        no_body(&body, "cancel")?;
        let Some(cancelled) = m.status.next(MembershipEvent::Cancel) else {
            return Err(not_pending(&m, "cancelled"));
        };
        let m = change_membership(db, &m, now, |slot| {
            slot.status = cancelled;
            slot.setup_token = None;
            slot.invite_expires_at = None;
        })?;
        Ok((StatusCode::OK, m.render()))
    })
}

async fn resend_membership(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path((p1, p2)): Path<(String, String)>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    partner_command(&state, &caller, &idem, &body, |db, key, mode, now| {
        let (_, m) = find_membership(db, key.account, mode, &p1, &p2)?;
        no_body(&body, "resend")?;
        if !m.status.is_pending() {
            return Err(not_pending(&m, "sent a new invitation"));
        }
        let token = new_token(&state);
        let m = change_membership(db, &m, now, |slot| {
            slot.setup_token = Some(token);
            slot.invite_expires_at = Some(now + Duration::days(INVITE_DAYS));
        })?;
        Ok((StatusCode::OK, m.render_with_setup_url(&origin)))
    })
}

async fn revoke_membership(
    State(state): State<AppState>,
    caller: V2Caller,
    idem: Idem,
    Path((p1, p2)): Path<(String, String)>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    partner_command(&state, &caller, &idem, &body, |db, key, mode, now| {
        let (_, m) = find_membership(db, key.account, mode, &p1, &p2)?;
        let mut errs = Errs::default();
        let o = Obj::new(&body, "", &["reason"], &mut errs);
        let reason = o.req_string("reason", 5000, &mut errs);
        errs.finish(())?;
        let reason = reason.unwrap_or_default().trim().to_string();
        let Some(revoked) = m.status.next(MembershipEvent::Revoke) else {
            return Err(V2Error::conflict(
                "membership_not_active",
                format!("Only an active membership can be revoked; this one is {}.", m.status),
            ));
        };
        let m = change_membership(db, &m, now, |slot| {
            slot.status = revoked;
            slot.revoked_at = Some(now);
            slot.revocation_reason = Some(reason);
            slot.revoked_by_token_id = Some(key.id);
        })?;
        emit_membership(db, &state, "company.user.revoked", &m);
        Ok((StatusCode::OK, m.render()))
    })
}

// ---------------------------------------------------------------------------------------------
// Mock-only control
// ---------------------------------------------------------------------------------------------

/// The company `raw` of any Partner (not released).
fn control_company(db: &Db, raw: &str) -> Result<Company, V2Error> {
    let id = Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?;
    db.partner_companies
        .find(&id.to_string())
        .filter(|c| !c.v2.released)
        .cloned()
        .ok_or_else(V2Error::not_found)
}

/// The membership `raw` of any Partner's company.
fn control_membership(db: &Db, raw: &str) -> Result<Membership, V2Error> {
    let id = Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?;
    db.v2_memberships
        .find(&id.to_string())
        .cloned()
        .ok_or_else(V2Error::not_found)
}

async fn control_confirm(State(state): State<AppState>, Path(p1): Path<String>) -> Result<Response, V2Error> {
    let now = state.now();
    state.store.write(|db| {
        let c = control_company(db, &p1)?;
        let confirmed = c.v2.onboarding_status().next(Confirm);
        if c.v2.onboarding_mode() != OnboardingMode::WebFlow || confirmed.is_none() {
            return Err(V2Error::conflict(
                "confirmation_not_pending",
                format!(
                    "Only a web_flow company awaiting confirmation can be confirmed; this one is {} and {}.",
                    c.v2.onboarding_mode(),
                    c.v2.onboarding_status()
                ),
            ));
        }
        let mode = c.v2.mode.unwrap_or_default();
        let version = c.v2.authorization_version + 1;
        // A pending web_flow company's cases are unavailable, so this opens them (an
        // available one, refused, stays available).
        let mut access = c.v2.case_access();
        access.apply(CaseAccessEvent::Confirmed);
        db.partner_companies.update(&c.account, &c.id.to_string(), |slot| {
            slot.v2.onboarding_status = confirmed;
            slot.v2.case_access = Some(access);
            slot.v2.authorization_version = version;
            slot.v2.updated_at = Some(now);
        });
        emit_lifecycle(
            db,
            &state,
            c.account,
            company_scope(&c, mode),
            "company.access.confirmed",
            json!({"company_url": company_path(c.id), "authorization_version": version}),
        );
        let c = control_company(db, &p1)?;
        Ok(respond(StatusCode::OK, render_detail(db, &c, mode)))
    })
}

async fn control_activate(State(state): State<AppState>, Path(p1): Path<String>) -> Result<Response, V2Error> {
    let now = state.now();
    state.store.write(|db| {
        let m = control_membership(db, &p1)?;
        let Some(active) = m.status.next(MembershipEvent::Activate) else {
            return Err(not_pending(&m, "activated"));
        };
        if !m.invite_open(now) {
            return Err(V2Error::conflict(
                "invite_expired",
                "The invitation has expired; resend it (POST …/resend/) first.",
            ));
        }
        let m = change_membership(db, &m, now, |slot| {
            slot.status = active;
            slot.setup_token = None;
            slot.invite_expires_at = None;
        })?;
        emit_membership(db, &state, "company.user.activated", &m);
        Ok(respond(StatusCode::OK, m.render()))
    })
}

async fn control_expire(State(state): State<AppState>, Path(p1): Path<String>) -> Result<Response, V2Error> {
    let now = state.now();
    state.store.write(|db| {
        let m = control_membership(db, &p1)?;
        if !m.status.is_pending() {
            return Err(not_pending(&m, "given an expired invitation"));
        }
        if !m.invite_open(now) {
            return Err(V2Error::conflict(
                "invite_expired",
                "The invitation has already expired.",
            ));
        }
        let m = change_membership(db, &m, now, |slot| {
            slot.setup_token = None;
            slot.invite_expires_at = Some(now);
        })?;
        emit_membership(db, &state, "company.user.invite_expired", &m);
        Ok(respond(StatusCode::OK, m.render()))
    })
}

async fn setup_page(State(state): State<AppState>, Path(p1): Path<String>) -> Result<Html<String>, V2Error> {
    let now = state.now();
    let m = state
        .store
        .read(|db| db.v2_memberships.by_setup_token(&p1).cloned())
        .filter(|m| m.status.is_pending() && m.invite_expires_at.is_some_and(|t| t > now))
        .ok_or_else(V2Error::not_found)?;
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    Ok(Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>paywise mock: account setup</title></head>\n\
         <body><h1>paywise mock: account setup</h1>\n\
         <p>Membership <code>{}</code> of <code>{}</code> as <code>{}</code>: <strong>pending_setup</strong>.</p>\n\
         <p>This page stands in for paywise's account setup. To accept the invitation locally, call\n\
         <code>POST /_mock/paywise/v2/memberships/{}/activate</code>.</p></body></html>\n",
        m.id,
        escape(&m.email),
        escape(&m.role),
        m.id
    )))
}

#[cfg(test)]
mod state_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    /// The setup-token index follows every insert and token change, and is rebuilt from the
    /// stored form.
    #[test]
    fn memberships_are_found_by_their_setup_token() {
        let at = DateTime::parse_from_rfc3339("2026-01-15T09:30:00Z")
            .expect("a time")
            .to_utc();
        let member = |seq: u64, company: u64, token: &str| Membership {
            seq,
            scope: Scope {
                company,
                mode: AccessMode::Test,
            },
            id: Uuid::from_u128(u128::from(seq)),
            account: 1,
            company: Uuid::from_u128(1000 + u128::from(company)),
            email: format!("m{seq}@example.com"),
            first_name: "A".into(),
            last_name: "B".into(),
            role: "admin".into(),
            status: MembershipStatus::PendingSetup,
            invite_expires_at: Some(at),
            setup_token: Some(token.into()),
            email_verified: false,
            revoked_at: None,
            revocation_reason: None,
            revoked_by_token_id: None,
            created_at: at,
            updated_at: at,
        };
        let mut ms = Memberships::default();
        ms.insert(member(1, 7, "t1")).expect("kept");
        ms.insert(member(2, 8, "t2")).expect("kept");
        assert!(ms.insert(member(2, 8, "t3")).is_err(), "a refused insert");
        assert!(ms.by_setup_token("t3").is_none(), "indexes nothing");
        assert_eq!(ms.by_setup_token("t1").map(|m| m.seq), Some(1));
        assert_eq!(ms.by_setup_token("t2").map(|m| m.seq), Some(2));
        let (scope, key) = (
            ms.by_setup_token("t1").expect("found").scope,
            Uuid::from_u128(1).to_string(),
        );
        ms.update(&scope, &key, |m| m.setup_token = Some("t1b".into()));
        assert!(ms.by_setup_token("t1").is_none(), "a replaced token no longer opens it");
        assert_eq!(ms.by_setup_token("t1b").map(|m| m.seq), Some(1));
        ms.update(&scope, &key, |m| m.setup_token = None);
        assert!(ms.by_setup_token("t1b").is_none());
        let stored = serde_json::to_value(&ms).expect("serializes");
        assert_eq!(
            stored,
            serde_json::to_value(&*ms).expect("serializes"),
            "the table's form"
        );
        let back: Memberships = serde_json::from_value(stored).expect("loads");
        assert_eq!(back.by_setup_token("t2").map(|m| m.seq), Some(2));
        assert!(back.by_setup_token("t1b").is_none());
    }

    const EVENTS: &[MembershipEvent] = &[
        MembershipEvent::Activate,
        MembershipEvent::Cancel,
        MembershipEvent::Revoke,
    ];

    proptest! {
        #[test]
        fn memberships_end_once_and_never_return_to_pending(
            start in proptest::sample::select(MembershipStatus::ALL),
            events in proptest::collection::vec(proptest::sample::select(EVENTS), 0..20),
        ) {
            let seen = walk(MembershipStatus::ALL, start, &events);
            for w in seen.windows(2) {
                prop_assert!(!w[1].is_pending() || w[0].is_pending(), "{seen:?}");
                let final_ = matches!(w[0], MembershipStatus::Cancelled | MembershipStatus::Revoked);
                prop_assert!(!final_ || w[1] == w[0], "{seen:?}");
            }
        }

        #[test]
        fn case_access_opens_on_confirmation_and_closes_on_release(
            start in proptest::sample::select(CaseAccess::ALL),
            events in proptest::collection::vec(
                proptest::sample::select(&[CaseAccessEvent::Confirmed, CaseAccessEvent::Released][..]),
                0..20,
            ),
        ) {
            let seen = walk(CaseAccess::ALL, start, &events);
            for (w, e) in seen.windows(2).zip(&events) {
                match e {
                    CaseAccessEvent::Released => prop_assert_eq!(w[1], CaseAccess::Unavailable),
                    CaseAccessEvent::Confirmed => prop_assert_eq!(w[1], CaseAccess::Available),
                }
            }
        }

        #[test]
        fn onboarding_confirms_only_a_pending_company(
            start in proptest::sample::select(OnboardingStatus::ALL),
            n in 0usize..5,
        ) {
            let seen = walk(OnboardingStatus::ALL, start, &vec![Confirm; n]);
            let expected = if start == OnboardingStatus::ConfirmationPending && n > 0 {
                OnboardingStatus::Confirmed
            } else {
                start
            };
            prop_assert_eq!(seen.last().copied(), Some(expected));
        }
    }

    #[test]
    fn names_round_trip() {
        round_trips(MembershipStatus::ALL, MembershipStatus::as_str);
        round_trips(OnboardingStatus::ALL, OnboardingStatus::as_str);
        round_trips(OnboardingMode::ALL, OnboardingMode::as_str);
        round_trips(CaseAccess::ALL, CaseAccess::as_str);
        assert_eq!(STATUSES, ["pending_setup", "active", "cancelled", "revoked"]);
    }
}
