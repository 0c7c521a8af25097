//! `GET /v2/health/`, `GET /v2/info/`, `GET /v2/usage/`, `GET /v2/legal-forms/` and their
//! Partner API twins (`/partner/v2/health/`, `/partner/v2/info/`, `/partner/v2/usage/`,
//! `/partner/v2/legal-forms/`).
//!
//! Health needs no token. Info is one object (no personal data). Usage shows what the mock
//! counts: every authenticated v2 request against its token's bucket, the Partner's bucket
//! (Partner keys and delegated calls) and the active company's bucket, in a 60-second window of
//! 1,000 requests (paywise publishes no numbers); the Partner API adds the hourly mail budgets
//! (`mail:company-create` 30, `mail:membership-create` 60), charged by successful commands. The
//! legal-form catalogue is the same on every tenant and answers 304 to a matching `If-None-Match`.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::format::ToJson;
use crate::resources::partner::derived_uuid;
use crate::state::AppState;
use crate::v2::conv::{V2Caller, respond, show};
use crate::v2::error::V2Error;

/// The scopes of a direct Case Management key (all of them).
pub const CASE_SCOPES: &[&str] = &[
    "case:orders:read",
    "case:orders:write",
    "case:claims:read",
    "case:claims:write",
    "case:debtors:read",
    "case:debtors:write",
    "case:mandates:read",
    "case:messages:read",
    "case:messages:write",
    "case:payments:read",
    "case:payments:write",
    "case:requests_to_client:read",
    "case:requests_to_client:write",
    "case:statements:read",
    "case:events:read",
    "case:webhooks:read",
    "case:webhooks:write",
];

/// The routes of the Case Management API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/", get(health))
        .route("/info/", get(info))
        .route("/usage/", get(usage))
        .route("/legal-forms/", get(legal_forms))
}

/// The routes of the Partner API.
pub fn partner_router() -> Router<AppState> {
    Router::new()
        .route("/health/", get(health))
        .route("/info/", get(partner_info))
        .route("/usage/", get(partner_usage))
        .route("/legal-forms/", get(partner_legal_forms))
}

async fn health() -> Response {
    respond(axum::http::StatusCode::OK, json!({ "status": "ok", "version": "v2" }))
}

/// The public id of company `number` (the same as v1's webhooks show): the Partner company's id
/// when a Partner manages it, else one derived from the number.
pub fn company_id(state: &AppState, number: u64) -> uuid::Uuid {
    state.store.read(|db| company_id_of(db, number))
}

/// [`company_id`] on a database.
pub fn company_id_of(db: &crate::state::Db, number: u64) -> uuid::Uuid {
    crate::resources::webhooks::company_uuid(db, number)
}

async fn info(State(state): State<AppState>, caller: V2Caller) -> Response {
    let company = caller
        .on_behalf_of
        .unwrap_or_else(|| company_id(&state, caller.scope.company));
    let scopes: Vec<&str> = match &caller.partner {
        Some(_) => CASE_SCOPES.to_vec(),
        None => CASE_SCOPES.to_vec(),
    };
    let id = caller.partner.as_ref().map_or_else(
        || derived_uuid(&format!("case-key:{}:{}", caller.grant.name, caller.scope.company)),
        |k| k.id,
    );
    respond(
        axum::http::StatusCode::OK,
        json!({
            "company": company.to_string(),
            "environment": caller.environment(),
            "id": id.to_string(),
            "scopes": scopes,
            "token_name": caller.grant.name,
        }),
    )
}

async fn partner_info(State(state): State<AppState>, caller: V2Caller) -> Result<Response, V2Error> {
    let key = caller
        .partner
        .clone()
        .ok_or_else(|| V2Error::forbidden("Not a Partner key."))?;
    let _ = &state;
    Ok(respond(
        axum::http::StatusCode::OK,
        json!({
            "capabilities": ["USER_ACCESS_REVOCATION"],
            "environment": caller.environment(),
            "id": key.id.to_string(),
            "partner": {
                "id": derived_uuid(&format!("partner:{}", key.account)).to_string(),
                "name": crate::v2::partner::partner_name(key.account),
            },
            "scopes": key.scopes.iter().cloned().chain(["partner:companies:read".to_string(), "partner:companies:write".to_string(), "partner:webhooks:write".to_string()]).collect::<std::collections::BTreeSet<_>>(),
            "token_name": caller.grant.name,
        }),
    ))
}

async fn usage(State(state): State<AppState>, caller: V2Caller) -> Response {
    let now = state.now();
    let mut limits = vec![state.v2.usage.limit(&caller.bucket, "token", now)];
    if let Some(key) = &caller.partner {
        limits.push(
            state
                .v2
                .usage
                .limit(&format!("partner:{}", key.account), "partner", now),
        );
    }
    limits.push(
        state
            .v2
            .usage
            .limit(&crate::v2::conv::company_bucket(caller.scope), "company", now),
    );
    respond(
        axum::http::StatusCode::OK,
        json!({ "generated_at": crate::v2::conv::ts(&now), "limits": limits.to_json() }),
    )
}

async fn partner_usage(State(state): State<AppState>, caller: V2Caller) -> Result<Response, V2Error> {
    let key = caller
        .partner
        .clone()
        .ok_or_else(|| V2Error::forbidden("Not a Partner key."))?;
    let now = state.now();
    let mut limits = vec![
        state.v2.usage.limit(&caller.bucket, "token", now).to_json(),
        state
            .v2
            .usage
            .limit(&format!("partner:{}", key.account), "partner", now)
            .to_json(),
    ];
    limits.extend(crate::v2::partner::mail_budgets(
        &state,
        key.account,
        caller.scope.mode,
        now,
    ));
    Ok(respond(
        axum::http::StatusCode::OK,
        json!({ "generated_at": crate::v2::conv::ts(&now), "limits": limits }),
    ))
}

/// One legal form: code, label, description, group, and the roles its representatives need.
struct LegalForm {
    code: &'static str,
    label: &'static str,
    description: &'static str,
    group: &'static str,
    representatives: &'static [&'static str],
}

const LEGAL_FORMS: &[LegalForm] = &[
    LegalForm {
        code: "privatperson",
        label: "Privatperson",
        description: "Natural person acting privately.",
        group: "privatperson",
        representatives: &[],
    },
    LegalForm {
        code: "einzelunternehmen",
        label: "Einzelunternehmen",
        description: "Sole proprietorship (not registered).",
        group: "einzelkaufmann",
        representatives: &[],
    },
    LegalForm {
        code: "ek",
        label: "e.K. (eingetragener Kaufmann)",
        description: "Registered sole trader.",
        group: "einzelkaufmann",
        representatives: &[],
    },
    LegalForm {
        code: "gbr",
        label: "GbR",
        description: "Civil-law partnership.",
        group: "personengesellschaft",
        representatives: &["partner"],
    },
    LegalForm {
        code: "ohg",
        label: "OHG",
        description: "General partnership.",
        group: "personengesellschaft",
        representatives: &["partner"],
    },
    LegalForm {
        code: "kg",
        label: "KG",
        description: "Limited partnership.",
        group: "personengesellschaft",
        representatives: &["general_partner"],
    },
    LegalForm {
        code: "gmbh_co_kg",
        label: "GmbH & Co. KG",
        description: "Limited partnership with a GmbH as general partner.",
        group: "personengesellschaft",
        representatives: &["general_partner"],
    },
    LegalForm {
        code: "partg",
        label: "PartG",
        description: "Partnership company of liberal professions.",
        group: "personengesellschaft",
        representatives: &["partner"],
    },
    LegalForm {
        code: "gmbh",
        label: "GmbH",
        description: "Limited liability company.",
        group: "kapitalgesellschaft",
        representatives: &["managing_director"],
    },
    LegalForm {
        code: "ug",
        label: "UG (haftungsbeschränkt)",
        description: "Entrepreneurial company with limited liability.",
        group: "kapitalgesellschaft",
        representatives: &["managing_director"],
    },
    LegalForm {
        code: "ag",
        label: "AG",
        description: "Stock corporation.",
        group: "kapitalgesellschaft",
        representatives: &["board_member"],
    },
    LegalForm {
        code: "se",
        label: "SE",
        description: "European company.",
        group: "kapitalgesellschaft",
        representatives: &["board_member"],
    },
    LegalForm {
        code: "eg",
        label: "eG",
        description: "Registered cooperative.",
        group: "genossenschaft",
        representatives: &["board_member"],
    },
    LegalForm {
        code: "ev",
        label: "e.V.",
        description: "Registered association.",
        group: "verein",
        representatives: &["chairperson"],
    },
    LegalForm {
        code: "foreign",
        label: "Ausländische Rechtsform",
        description: "Legal form under foreign law.",
        group: "sonstige",
        representatives: &[],
    },
];

/// The group of legal form `code`, if it is one.
pub fn legal_form_group(code: &str) -> Option<&'static str> {
    LEGAL_FORMS.iter().find(|f| f.code == code).map(|f| f.group)
}

/// Every legal form code.
pub fn legal_form_codes() -> Vec<&'static str> {
    LEGAL_FORMS.iter().map(|f| f.code).collect()
}

/// The roles a company's representatives need for legal form `code` (Partner catalogue).
pub fn representative_roles(code: &str) -> &'static [&'static str] {
    LEGAL_FORMS
        .iter()
        .find(|f| f.code == code)
        .map_or(&[], |f| f.representatives)
}

fn catalogue() -> Value {
    Value::Array(
        LEGAL_FORMS
            .iter()
            .map(|f| {
                json!({
                    "code": f.code,
                    "label": f.label,
                    "description": f.description,
                    "group": f.group,
                    "representative_requirements": f.representatives,
                })
            })
            .collect(),
    )
}

async fn legal_forms(_caller: V2Caller, headers: HeaderMap) -> Response {
    show(&headers, catalogue())
}

async fn partner_legal_forms(caller: V2Caller, headers: HeaderMap) -> Result<Response, V2Error> {
    if caller.partner.is_none() {
        return Err(V2Error::forbidden("Not a Partner key."));
    }
    Ok(show(&headers, catalogue()))
}
