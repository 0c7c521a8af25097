//! `GET /v1/credit_cases`, `GET /v1/credit_cases/{id}` and `GET /v1/credit_cases/deleted`:
//! debt-collection cases (read-only in the API). Deleted cases come only from the fixtures (the API
//! cannot delete a case); their tombstones stay visible for 90 days.

use axum::Router;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use thin_vec::ThinVec;

use crate::format::{Stamp, Text};
use crate::list;
use crate::resources::Label;
use crate::resources::invoices::Invoice;
use crate::seed::Gen;
use crate::state::AppState;
use crate::state::Db;

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &[
    "labels",
    "public_url",
    "deeplink_url",
    "open_interest_and_collection_costs",
    "internal_note_email_address",
];

/// `CustomerApi_V1_CreditCaseEntity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditCase {
    /// Opt-in: labels.
    pub labels: ThinVec<Label>,
    /// Case number.
    pub case_number: Text,
    /// Opt-in: debtor portal link.
    pub public_url: crate::links::Link,
    /// Opt-in: link into the Payt interface.
    pub deeplink_url: crate::links::Link,
    /// Formatted case number.
    pub credit_case_number: String,
    /// ISO 4217.
    pub currency_code: Text,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Debt collection costs.
    #[serde(with = "crate::format::money")]
    pub debt_collection_costs: Decimal,
    /// Opt-in: open interest and collection costs.
    #[serde(with = "crate::format::money")]
    pub open_interest_and_collection_costs: Decimal,
    /// Total amount.
    #[serde(with = "crate::format::money")]
    pub total_amount: Decimal,
    /// Open amount.
    #[serde(with = "crate::format::money")]
    pub open_amount: Decimal,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Interest.
    #[serde(with = "crate::format::money")]
    pub interest_costs: Decimal,
    /// Opt-in: internal note address.
    pub internal_note_email_address: crate::links::Link,
    /// The debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Deprecated twin of `active_payment_plan_id`.
    #[serde(with = "crate::format::opt_id")]
    pub payment_plan_id: Option<u64>,
    /// The active payment plan.
    #[serde(with = "crate::format::opt_id")]
    pub active_payment_plan_id: Option<u64>,
    /// Forwarded to a bailiff.
    pub forwarded_to_bailiff_at: Option<Stamp>,
    /// Latest summons.
    pub latest_summons_at: Option<Stamp>,
    /// Notice of default.
    pub notice_of_default_at: Option<Stamp>,
    /// Pre-judicial phase.
    pub pre_judicial_at: Option<Stamp>,
    /// Debt collection notice.
    pub pre_summons_at: Option<Stamp>,
    /// Last paused.
    pub paused_at: Option<Stamp>,
    /// Deactivated.
    pub deactivated_at: Option<Stamp>,
    /// Deprecated twin of `summons_1_at`.
    pub first_summons_at: Option<Stamp>,
    /// First summons.
    pub summons_1_at: Option<Stamp>,
    /// Second summons.
    pub summons_2_at: Option<Stamp>,
    /// Third summons.
    pub summons_3_at: Option<Stamp>,
    /// Fourth summons.
    pub summons_4_at: Option<Stamp>,
    /// Case start.
    #[serde(with = "crate::format::ts")]
    pub started_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// The invoices in the case (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub invoice_ids: ThinVec<u64>,
}

impl CreditCase {
    /// Case `id` of administration `admin`, its `number`th, of debtor `debtor_id`, started at
    /// `started`: its case number, its `INC-<admin>-<number>` credit case number and its links, in
    /// euros, owing nothing, with no invoices, labels or plan and no stage entered. The time-driven
    /// rules and the fixtures open their cases from it and set what those owe and have reached.
    pub fn new(admin: u64, id: u64, number: u64, debtor_id: u64, started: DateTime<Utc>) -> Self {
        use crate::links::{AppKind, Link, NoteKind, PortalKind};
        CreditCase {
            labels: ThinVec::new(),
            case_number: number.to_string().into(),
            public_url: Link::portal(PortalKind::CreditCase, id),
            deeplink_url: Link::app(admin, AppKind::CreditCase, id),
            credit_case_number: format!("INC-{admin}-{number:05}"),
            currency_code: arcstr::literal!("EUR"),
            administration_id: admin,
            debt_collection_costs: Decimal::ZERO,
            open_interest_and_collection_costs: Decimal::ZERO,
            total_amount: Decimal::ZERO,
            open_amount: Decimal::ZERO,
            id,
            interest_costs: Decimal::ZERO,
            internal_note_email_address: Link::note(NoteKind::CreditCase, id),
            debtor_id,
            payment_plan_id: None,
            active_payment_plan_id: None,
            forwarded_to_bailiff_at: None,
            latest_summons_at: None,
            notice_of_default_at: None,
            pre_judicial_at: None,
            pre_summons_at: None,
            paused_at: None,
            deactivated_at: None,
            first_summons_at: None,
            summons_1_at: None,
            summons_2_at: None,
            summons_3_at: None,
            summons_4_at: None,
            started_at: started,
            updated_at: started,
            invoice_ids: ThinVec::new(),
        }
    }
}

administration_record!(
    CreditCase,
    changed = updated_at,
    lookups = |c| {
        let mut keys = vec![
            ("number", c.credit_case_number.clone()),
            ("case_number", c.case_number.to_string()),
        ];
        // A case is linked to a plan by either field (`payment_plan_id` is the deprecated twin).
        let mut plans: Vec<u64> = c.active_payment_plan_id.into_iter().chain(c.payment_plan_id).collect();
        plans.dedup();
        keys.extend(plans.into_iter().map(|p| ("plan", p.to_string())));
        // The invoices it holds: a payment plan's approval finds the cases of its invoices.
        keys.extend(c.invoice_ids.iter().map(|i| ("invoice", i.to_string())));
        keys
    },
    unique = &["number"]
);

/// A stage of a credit case's collection, in the order a case takes them (each stage's moment is
/// a time-driven rule: [`crate::lifecycle`]). A case is at the last stage whose timestamp is set;
/// it moves only to the next one ([`CaseStage::next_of`]), never back, and a stage is entered by
/// [`CaseStage::apply_case`] (which the rules mirror onto the case's invoices with
/// [`CaseStage::apply_invoice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStage {
    /// First summons (`summons_1_at`, and its deprecated twin `first_summons_at`).
    Summons1,
    /// Second summons.
    Summons2,
    /// Third summons.
    Summons3,
    /// Fourth summons.
    Summons4,
    /// Notice of default.
    NoticeOfDefault,
    /// Pre-judicial phase.
    PreJudicial,
    /// Forwarded to the bailiff (terminal).
    Bailiff,
}

/// Enters stage `$stage` at `$at` on `$r`, a case or one of its invoices (which keep the same
/// stamps; the bailiff's is `$bailiff`): the stage's stamp (summons 1 also as `first_summons_at`),
/// `latest_summons_at` for a summons or the notice of default (which mentions the case: its latest
/// summons is then later than any), and `updated_at`.
macro_rules! enter_stage {
    ($stage:expr, $r:expr, $bailiff:ident, $at:expr) => {{
        let (stage, r, at) = ($stage, $r, $at);
        let stamp = Some(Stamp::new(at));
        let slot = match stage {
            CaseStage::Summons1 => {
                r.first_summons_at = stamp;
                &mut r.summons_1_at
            }
            CaseStage::Summons2 => &mut r.summons_2_at,
            CaseStage::Summons3 => &mut r.summons_3_at,
            CaseStage::Summons4 => &mut r.summons_4_at,
            CaseStage::NoticeOfDefault => &mut r.notice_of_default_at,
            CaseStage::PreJudicial => &mut r.pre_judicial_at,
            CaseStage::Bailiff => &mut r.$bailiff,
        };
        *slot = stamp;
        if !matches!(stage, CaseStage::PreJudicial | CaseStage::Bailiff) {
            r.latest_summons_at = stamp;
        }
        r.updated_at = at;
    }};
}

impl CaseStage {
    /// Every stage, in the order a case takes them.
    pub const ALL: [CaseStage; 7] = [
        Self::Summons1,
        Self::Summons2,
        Self::Summons3,
        Self::Summons4,
        Self::NoticeOfDefault,
        Self::PreJudicial,
        Self::Bailiff,
    ];

    /// The stage case `c` takes next: the first whose timestamp is not set; `None` once it was
    /// forwarded to the bailiff.
    pub fn next_of(c: &CreditCase) -> Option<CaseStage> {
        Self::ALL.into_iter().find(|s| s.stamp(c).is_none())
    }

    /// Its name in the timeline.
    pub fn name(self) -> &'static str {
        match self {
            Self::Summons1 => "summons_1",
            Self::Summons2 => "summons_2",
            Self::Summons3 => "summons_3",
            Self::Summons4 => "summons_4",
            Self::NoticeOfDefault => "notice_of_default",
            Self::PreJudicial => "pre_judicial",
            Self::Bailiff => "bailiff",
        }
    }

    /// The webhook event entering it raises.
    pub fn event(self) -> &'static str {
        match self {
            Self::Bailiff => "case_to_bailiff",
            _ => "case_step_performed",
        }
    }

    /// When case `c` entered it.
    pub fn stamp(self, c: &CreditCase) -> Option<DateTime<Utc>> {
        crate::format::at(match self {
            Self::Summons1 => c.summons_1_at,
            Self::Summons2 => c.summons_2_at,
            Self::Summons3 => c.summons_3_at,
            Self::Summons4 => c.summons_4_at,
            Self::NoticeOfDefault => c.notice_of_default_at,
            Self::PreJudicial => c.pre_judicial_at,
            Self::Bailiff => c.forwarded_to_bailiff_at,
        })
    }

    /// Enters it on case `c` at `at`.
    pub fn apply_case(self, c: &mut CreditCase, at: DateTime<Utc>) {
        enter_stage!(self, c, forwarded_to_bailiff_at, at);
    }

    /// Mirrors it onto an invoice of the case.
    pub fn apply_invoice(self, inv: &mut Invoice, at: DateTime<Utc>) {
        enter_stage!(self, inv, bailiff_at, at);
    }
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/credit_cases",
            list::list_route("credit_cases:read", OPT_IN, |db| &db.credit_cases, list::unfiltered),
        )
        .route(
            "/credit_cases/deleted",
            list::deleted_route("credit_cases:read", |db| &db.deleted_credit_cases),
        )
        .route(
            "/credit_cases/{id}",
            list::show_route("credit_cases:read", "CreditCase", OPT_IN, |db| &db.credit_cases),
        )
}

/// `CustomerApi_V1_DeletedCreditCaseEntity`: the tombstone of a deleted case, kept 90 days for the
/// `deleted` endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeletedCreditCase {
    /// Unique identifier of the deleted case.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The case's debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Deletion.
    #[serde(with = "crate::format::ts")]
    pub deleted_at: DateTime<Utc>,
}

administration_record!(DeletedCreditCase, changed = deleted_at);
tombstone!(DeletedCreditCase);

/// Tombstones of cases deleted in the Payt interface (cases opened by mistake, cases of invoices
/// that were credited), 3 to 6 per administration, deleted 1 to 60 days before the fixture anchor.
/// `seed.rs` has no hook for credit cases; the workflow fixtures call this.
pub(crate) fn seed_deleted(g: &mut Gen, db: &mut Db, admin: u64) {
    crate::seed::tombstones(
        g,
        db,
        admin,
        (3, 6),
        |db| &mut db.deleted_credit_cases,
        |id, debtor_id, deleted_at| DeletedCreditCase {
            id,
            administration_id: admin,
            debtor_id,
            deleted_at,
        },
    );
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use proptest::prelude::*;

    use super::{CaseStage, CreditCase};

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap_or_default()
    }

    fn case() -> CreditCase {
        serde_json::from_value(serde_json::json!({
            "labels": [], "case_number": "1", "public_url": "", "deeplink_url": "", "credit_case_number": "CC-1",
            "currency_code": "EUR", "administration_id": "81", "debt_collection_costs": "0.00",
            "open_interest_and_collection_costs": "0.00", "total_amount": "10.00", "open_amount": "10.00",
            "id": "1", "interest_costs": "0.00", "internal_note_email_address": "", "debtor_id": "2",
            "payment_plan_id": null, "active_payment_plan_id": null, "forwarded_to_bailiff_at": null,
            "latest_summons_at": null, "notice_of_default_at": null, "pre_judicial_at": null,
            "pre_summons_at": null, "paused_at": null, "deactivated_at": null, "first_summons_at": null,
            "summons_1_at": null, "summons_2_at": null, "summons_3_at": null, "summons_4_at": null,
            "started_at": "2023-11-14T22:13:20Z", "updated_at": "2023-11-14T22:13:20Z"
        }))
        .expect("a case")
    }

    proptest! {
        /// A case taking its next stage any number of times walks the stages in order, each
        /// stamped once, and stays at the bailiff once there.
        #[test]
        fn cases_walk_their_stages_in_order(steps in 0usize..12) {
            let mut c = case();
            for i in 0..steps {
                match CaseStage::next_of(&c) {
                    Some(s) => {
                        prop_assert_eq!(Some(s), CaseStage::ALL.get(i).copied());
                        s.apply_case(&mut c, at(i as i64 + 1));
                        prop_assert_eq!(s.stamp(&c), Some(at(i as i64 + 1)));
                    }
                    None => prop_assert!(i >= CaseStage::ALL.len()),
                }
                let entered = CaseStage::ALL.iter().filter(|s| s.stamp(&c).is_some()).count();
                prop_assert_eq!(entered, (i + 1).min(CaseStage::ALL.len()));
            }
        }
    }
}
