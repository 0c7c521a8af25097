//! Contract tests for paywise's Partner API (`/partner/v1/`): token info, companies, users and
//! user invites, and a partner key acting on the Case Management API with `X-User-Id`.
//!
//! They speak only HTTP through [`contract_tests::PaywisePartner`], which is optional: against a
//! vendor without `PAYWISE_PARTNER_TOKEN` every test here is recorded as skipped. The Partner API
//! has no test mode and no way to delete anything, so every test that creates a company, user or
//! invite asks [`contract_tests::Conn::permanent_writes`] first (against a vendor that takes
//! `CONTRACT_ALLOW_PERMANENT_WRITES=1`). Names and e-mail addresses carry [`unique_reference`];
//! e-mail addresses are at `example.com`.
//!
//! Instant onboarding (`POST /partner/v1/users/`) needs the key permission
//! `API_ONLY_ONBOARDING`; the tests that create users read the key's `scopes` from
//! `GET /partner/v1/info/` and, without it, assert the 403 and are recorded as skipped.
//!
//! Error bodies are undocumented (DRF is inferred): the key structure is asserted, never the
//! wording. `GET /partner/v1/userinvites/{id}/get-onboarded-user/` is known only from unofficial
//! clients; a user appears there only after paywise's web flow, which no API call can finish, so
//! only its answer for an invite still open (404) is checked.

use contract_tests::{Paywise, PaywisePartner, unique_reference};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

const INFO: &str = "/partner/v1/info/";
const COMPANIES: &str = "/partner/v1/companies/";
const USERS: &str = "/partner/v1/users/";
const INVITES: &str = "/partner/v1/userinvites/";
/// A well-formed UUID that names nothing.
const UNKNOWN_UUID: &str = "00000000-0000-4000-8000-000000000000";
/// The key permission instant onboarding needs.
const API_ONLY_ONBOARDING: &str = "API_ONLY_ONBOARDING";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` must be a string in {v}"))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Sends `req`; the status and the body (JSON, or the text as a string, `Null` when empty).
async fn send(req: contract_tests::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let body = res.text().await.expect("a body");
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or(Value::String(body))
    };
    (status, body)
}

/// POST `body` as JSON with the partner key; the status and the body.
async fn post(p: &PaywisePartner, path: &str, body: &Value) -> (StatusCode, Value) {
    send(p.post(path).json(body)).await
}

/// PATCH `body` as JSON with the partner key; the status and the body.
async fn patch(p: &PaywisePartner, path: &str, body: &Value) -> (StatusCode, Value) {
    send(p.patch(path).json(body)).await
}

/// Asserts each of `fields` holds a non-empty list of messages in the 400 body `body`.
/// DRF's field errors name each of `fields`; where paywise's Partner API file documents the 400
/// as `{"message": "..."}` (users, invites), the message names each field instead.
fn assert_field_errors(body: &Value, fields: &[&str]) {
    assert!(body.is_object(), "a validation error is a JSON object, got {body}");
    if let Some(message) = body.get("message").and_then(Value::as_str) {
        for f in fields {
            assert!(message.contains(*f), "the message names `{f}`: {body}");
        }
        return;
    }
    for f in fields {
        let list = body[*f]
            .as_array()
            .unwrap_or_else(|| panic!("errors.{f} must be a list of messages in {body}"));
        assert!(
            !list.is_empty() && list.iter().all(Value::is_string),
            "errors.{f} in {body}"
        );
    }
}

/// Asserts `body` is DRF's `{"detail": "<message>"}`.
fn assert_detail(body: &Value, at: &str) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{at}: expected {{\"detail\": ...}}, got {body}"));
    assert_eq!(obj.len(), 1, "{at}: expected only `detail`, got {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{at}: `detail` must be a non-empty string in {body}"
    );
}

/// Asserts `record` has a UUID `id` and an absolute `href` ending in `{path}{id}/`; the id.
fn assert_identity(record: &Value, path: &str) -> String {
    let id = text(record, "id").to_string();
    assert!(is_uuid(&id), "id must be a UUID, got {id:?}");
    let href = text(record, "href");
    let url = Url::parse(href).unwrap_or_else(|e| panic!("href {href:?} must be an absolute URL: {e}"));
    assert!(matches!(url.scheme(), "http" | "https"), "href {href:?}");
    assert!(
        href.ends_with(&format!("{path}{id}/")),
        "href {href:?} must end with {path}{id}/"
    );
    id
}

/// Asserts every field of `sent` comes back unchanged in `got`.
fn assert_echoes(sent: &Value, got: &Value, at: &str) {
    for (k, v) in sent.as_object().expect("a JSON object was sent") {
        assert_eq!(&got[k], v, "{at}.{k}: sent {v}, got {}", got[k]);
    }
}

/// A fresh e-mail address for `what`.
fn email(what: &str) -> String {
    format!("{}@example.com", unique_reference(what))
}

/// A company with everything paywise requires for `data_submission_completed` (a GmbH with its
/// managing director, eligible for tax deduction) and the optional fields.
fn complete_company(name: &str) -> Value {
    json!({
        "name": name,
        "phone": "+49 30 1234567",
        "address": {"street": "Friedrichstraße 100", "zip": "10117", "city": "Berlin", "country": "DE"},
        "vat_number": "DE123456789",
        "legal_form": "GmbH",
        "legal_representatives": [{"type": "geschaeftsführer", "name": "Erika Mustermann"}],
        "tax_deduction_eligibility": "J",
        "notification_channels": [{
            "channel_type": "EMAIL",
            "value": email("company-channel"),
            "notification_types": ["REQUESTS_TO_CLIENT", "STATUS_UPDATE", "STATEMENTS"],
        }],
    })
}

/// [`complete_company`] without the legal representative a GmbH needs: not yet complete.
fn incomplete_company(name: &str) -> Value {
    let mut body = complete_company(name);
    if let Some(b) = body.as_object_mut() {
        b.remove("legal_representatives");
    }
    body
}

/// Creates a company; panics unless 200 (what paywise's Partner API file documents for this
/// create). The response body.
async fn create_company(p: &PaywisePartner, body: &Value) -> Value {
    let (status, created) = post(p, COMPANIES, body).await;
    assert_eq!(status, StatusCode::OK, "POST {COMPANIES} {body}: {created}");
    created
}

/// The key's `scopes`, from token info.
async fn scopes(p: &PaywisePartner) -> Vec<String> {
    let info = p.get_json(INFO, &[]).await;
    info[0]["scopes"]
        .as_array()
        .unwrap_or_else(|| panic!("token info has scopes: {info}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether the key may create users; without `API_ONLY_ONBOARDING` asserts that creating one
/// is a 403 and records the test as skipped.
async fn can_onboard(p: &PaywisePartner, company: &str) -> bool {
    if scopes(p).await.iter().any(|s| s == API_ONLY_ONBOARDING) {
        return true;
    }
    let body = user_body(company, &email("user-without-permission"), false);
    let (status, errors) = post(p, USERS, &body).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "POST {USERS} without {API_ONLY_ONBOARDING}: {errors}"
    );
    assert_detail(&errors, "POST users without the permission");
    contract_tests::skip(&format!(
        "the partner key lacks {API_ONLY_ONBOARDING}, which creating users needs (the 403 was checked)"
    ));
    false
}

/// A user of `company`.
fn user_body(company: &str, email: &str, skip_verification: bool) -> Value {
    json!({
        "email": email,
        "first_name": "Max",
        "last_name": "Mustermann",
        "company": company,
        "skip_email_verification": skip_verification,
        "notification_channels": [{
            "channel_type": "EMAIL",
            "value": email,
            "notification_types": ["REQUESTS_TO_CLIENT", "STATEMENTS"],
        }],
    })
}

/// Creates a user; panics unless 201. Checks the echo; the response body.
async fn create_user(p: &PaywisePartner, body: &Value) -> Value {
    let (status, created) = post(p, USERS, body).await;
    assert_eq!(status, StatusCode::CREATED, "POST {USERS} {body}: {created}");
    let mut sent = body.clone();
    let skip_verification = sent
        .as_object_mut()
        .and_then(|b| b.remove("skip_email_verification"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    assert_echoes(&sent, &created, "user");
    assert_identity(&created, USERS);
    assert!(
        created.get("skip_email_verification").is_none(),
        "skip_email_verification is write-only: {created}"
    );
    assert_eq!(
        created["email_verified"], skip_verification,
        "a user is verified at once only with skip_email_verification: {created}"
    );
    created
}

// ---------------------------------------------------------------------------------------------
// Token info and authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_info_is_an_array_naming_the_keys_scopes() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    let info = p.get_json(INFO, &[]).await;
    let entries = info.as_array().expect("GET /partner/v1/info/ answers an array");
    assert!(!entries.is_empty(), "token info has an entry: {info}");
    for e in entries {
        assert!(is_uuid(text(e, "id")), "{e}");
        assert!(!text(e, "token_name").is_empty(), "{e}");
        assert!(
            text(e, "user").contains('@'),
            "user is the key owner's e-mail address: {e}"
        );
        assert!(
            e["user_first_name"].is_string() && e["user_last_name"].is_string(),
            "{e}"
        );
        assert!(
            e["scopes"].as_array().is_some_and(|s| s.iter().all(Value::is_string)),
            "scopes is a list of permission names: {e}"
        );
    }
    let (status, body) = send(p.client.get(p.url(INFO))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{INFO} without a token: {body}");
    assert_detail(&body, "token info without a token");
}

#[tokio::test]
async fn the_partner_api_needs_a_partner_key() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    let company = format!("{COMPANIES}{UNKNOWN_UUID}/");
    let invite = format!("{INVITES}{UNKNOWN_UUID}/");
    let paths = [INFO, COMPANIES, USERS, company.as_str(), invite.as_str()];
    for path in paths {
        let (status, body) = send(p.client.get(p.url(path))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "GET {path} without a token: {body}");
        assert_detail(&body, &format!("GET {path} without a token"));
        let (status, body) = send(
            p.client
                .get(p.url(path))
                .bearer_auth("contract-test-not-a-paywise-token"),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "GET {path} with a wrong token: {body}"
        );
        assert_detail(&body, &format!("GET {path} with a wrong token"));
    }
    // A Case Management key is a valid key, but not for the Partner API.
    let cm = Paywise::connect().await;
    for path in paths {
        let (status, body) = send(p.client.get(p.url(path)).bearer_auth(&cm.token)).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "GET {path} with a Case Management key: {body}"
        );
        assert_detail(&body, &format!("GET {path} with a Case Management key"));
    }
}

#[tokio::test]
async fn unknown_partner_ids_are_404() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    for id in [UNKNOWN_UUID, "not-a-uuid"] {
        for path in [
            format!("{COMPANIES}{id}/"),
            format!("{USERS}{id}/"),
            format!("{INVITES}{id}/"),
            format!("{INVITES}{id}/get-onboarded-user/"),
        ] {
            let (status, body) = send(p.get(&path)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}: {body}");
            assert_detail(&body, &format!("GET {path}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_complete_company_is_listed_read_back_and_can_no_longer_be_patched() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    if !p.permanent_writes("creates partner companies") {
        return;
    }
    let sent = complete_company(&unique_reference("company"));
    let created = create_company(&p, &sent).await;
    assert_echoes(&sent, &created, "company");
    let id = assert_identity(&created, COMPANIES);
    assert_eq!(
        created["data_submission_completed"], true,
        "all required data is present: {created}"
    );
    assert_eq!(created["users"], json!([]), "a new company has no users");

    let path = format!("{COMPANIES}{id}/");
    assert_eq!(
        p.get_json(&path, &[]).await,
        created,
        "GET {path} shows the company as created"
    );
    // Tolerance: the partner account holds other companies (earlier runs, other tests), so the
    // list must contain this one, as created.
    let (all, count) = p.walk(COMPANIES, 100, &[]).await;
    assert!(count >= 1, "count {count}");
    assert!(
        all.contains(&created),
        "GET {COMPANIES} lists the new company as created"
    );

    let page = p.get_json(COMPANIES, &[("limit", "1")]).await;
    let mut keys: Vec<&str> = page.as_object().expect("a page").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["count", "next", "previous", "results"], "{page}");
    assert_eq!(page["previous"], Value::Null, "{page}");
    assert_eq!(page["results"].as_array().map(Vec::len), Some(1), "limit=1: {page}");

    // Once the data submission is completed, the company can no longer be changed.
    let (status, body) = patch(&p, &path, &json!({"phone": "+49 30 7654321"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "PATCH of a completed company: {body}");
    assert_detail(&body, "PATCH of a completed company");
    assert_eq!(
        p.get_json(&path, &[]).await,
        created,
        "the refused PATCH changed nothing"
    );
}

#[tokio::test]
async fn an_incomplete_company_is_patched_until_its_data_submission_completes() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    if !p.permanent_writes("creates partner companies") {
        return;
    }
    let sent = incomplete_company(&unique_reference("company-incomplete"));
    let created = create_company(&p, &sent).await;
    assert_echoes(&sent, &created, "company");
    assert_eq!(created["legal_representatives"], json!([]));
    assert_eq!(
        created["data_submission_completed"], false,
        "a GmbH without a legal representative is incomplete: {created}"
    );
    let id = assert_identity(&created, COMPANIES);
    let path = format!("{COMPANIES}{id}/");

    // Invalid changes are refused field by field and change nothing.
    for (body, field) in [
        (json!({"phone": ""}), "phone"),
        (json!({"tax_deduction_eligibility": "X"}), "tax_deduction_eligibility"),
    ] {
        let (status, errors) = patch(&p, &path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "PATCH {body}: {errors}");
        assert_field_errors(&errors, &[field]);
    }
    assert_eq!(p.get_json(&path, &[]).await, created, "refused PATCHes changed nothing");

    let (status, changed) = patch(&p, &path, &json!({"phone": "+49 30 7654321"})).await;
    assert_eq!(status, StatusCode::OK, "PATCH phone: {changed}");
    let mut expected = created.clone();
    expected["phone"] = json!("+49 30 7654321");
    assert_eq!(changed, expected, "PATCH changes only the phone");
    assert_eq!(p.get_json(&path, &[]).await, changed);

    let reps = json!([{"type": "geschaeftsführer", "name": "Erika Mustermann"}]);
    let (status, completed) = patch(&p, &path, &json!({"legal_representatives": reps})).await;
    assert_eq!(status, StatusCode::OK, "PATCH legal_representatives: {completed}");
    assert_eq!(completed["legal_representatives"], reps);
    assert_eq!(
        completed["data_submission_completed"], true,
        "the last missing piece completes the data submission: {completed}"
    );
    let (status, body) = patch(&p, &path, &json!({"phone": "+49 30 1111111"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "PATCH after completion: {body}");
    assert_detail(&body, "PATCH after completion");
    assert_eq!(p.get_json(&path, &[]).await, completed);

    let unknown = format!("{COMPANIES}{UNKNOWN_UUID}/");
    let (status, body) = patch(&p, &unknown, &json!({"phone": "+49 30 1111111"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "PATCH {unknown}: {body}");
    assert_detail(&body, "PATCH of an unknown company");
}

#[tokio::test]
async fn invalid_companies_are_refused_with_field_errors() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    if !p.permanent_writes("creates partner companies (if the target wrongly accepts one)") {
        return;
    }
    let name = unique_reference("company-invalid");
    let mut no_zip = complete_company(&name);
    if let Some(a) = no_zip["address"].as_object_mut() {
        a.remove("zip");
    }
    // paywise's file gives `phone` `minLength: 1` (and no maximum).
    let mut blank_phone = complete_company(&name);
    blank_phone["phone"] = json!("");
    let mut bad_tax = complete_company(&name);
    bad_tax["tax_deduction_eligibility"] = json!("X");
    let cases = [
        (json!({}), None, "name"),
        (no_zip, Some("address"), "zip"),
        (blank_phone, None, "phone"),
        (bad_tax, None, "tax_deduction_eligibility"),
    ];
    for (body, nested, field) in cases {
        let (status, errors) = post(&p, COMPANIES, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "POST {COMPANIES} {body}: {errors}");
        match nested {
            Some(outer) => assert_field_errors(&errors[outer], &[field]),
            None => assert_field_errors(&errors, &[field]),
        }
    }
    let (all, _) = p.walk(COMPANIES, 100, &[]).await;
    assert!(
        all.iter().all(|c| c["name"] != name.as_str()),
        "a refused company was stored"
    );
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn users_are_listed_by_company_and_email_and_shown_on_their_company() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    if !p.permanent_writes("creates partner companies and users") {
        return;
    }
    let company = create_company(&p, &complete_company(&unique_reference("company-users"))).await;
    let company_id = text(&company, "id");
    if !can_onboard(&p, company_id).await {
        return;
    }
    let verified = create_user(&p, &user_body(company_id, &email("user-verified"), true)).await;
    let unverified = create_user(&p, &user_body(company_id, &email("user-unverified"), false)).await;
    for u in [&verified, &unverified] {
        let path = format!("{USERS}{}/", text(u, "id"));
        assert_eq!(&p.get_json(&path, &[]).await, u, "GET {path} shows the user as created");
    }
    let mut ours = vec![verified.clone(), unverified.clone()];
    ours.sort_by_key(|u| u["id"].to_string());

    let (mut by_company, count) = p.walk(USERS, 100, &[("company", company_id)]).await;
    by_company.sort_by_key(|u| u["id"].to_string());
    assert_eq!(count, 2, "company={company_id} counts its two users");
    assert_eq!(by_company, ours, "company={company_id} lists exactly its users");
    let (by_email, _) = p.walk(USERS, 100, &[("email", text(&verified, "email"))]).await;
    assert_eq!(
        by_email,
        std::slice::from_ref(&verified),
        "email= finds exactly that user"
    );
    let (by_id, _) = p.walk(USERS, 100, &[("id", text(&unverified, "id"))]).await;
    assert_eq!(by_id, std::slice::from_ref(&unverified), "id= finds exactly that user");
    let other = create_company(&p, &incomplete_company(&unique_reference("company-no-users"))).await;
    let (none, count) = p
        .walk(
            USERS,
            100,
            &[("company", text(&other, "id")), ("email", text(&verified, "email"))],
        )
        .await;
    assert_eq!((none.len(), count), (0, 0), "the user is not another company's");

    let shown = p.get_json(&format!("{COMPANIES}{company_id}/"), &[]).await;
    let mut users = shown["users"].as_array().expect("users is an array").clone();
    users.sort_by_key(|u| u["id"].to_string());
    assert_eq!(users, ours, "the company shows its users");

    let (status, errors) = send(p.get(USERS).query(&[("company", "not-a-uuid")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "company=not-a-uuid: {errors}");
    assert_field_errors(&errors, &["company"]);
}

#[tokio::test]
async fn invalid_users_are_refused_with_field_errors() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    if !p.permanent_writes("creates partner companies and users") {
        return;
    }
    let company = create_company(&p, &complete_company(&unique_reference("company-bad-users"))).await;
    let company_id = text(&company, "id");
    if !can_onboard(&p, company_id).await {
        return;
    }
    let taken = create_user(&p, &user_body(company_id, &email("user-taken"), false)).await;
    let fresh = email("user-refused");
    let mut empty_names = user_body(company_id, &fresh, false);
    empty_names["first_name"] = json!("");
    empty_names["last_name"] = json!("");
    let cases = [
        (json!({}), vec!["email", "company", "first_name", "last_name"]),
        (user_body(company_id, "not-an-email", false), vec!["email"]),
        (user_body(UNKNOWN_UUID, &fresh, false), vec!["company"]),
        (empty_names, vec!["first_name", "last_name"]),
        // An e-mail address in use is a 400 (paywise documents it).
        (user_body(company_id, text(&taken, "email"), false), vec!["email"]),
    ];
    for (body, fields) in cases {
        let (status, errors) = post(&p, USERS, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "POST {USERS} {body}: {errors}");
        assert_field_errors(&errors, &fields);
    }
    let (users, _) = p.walk(USERS, 100, &[("company", company_id)]).await;
    assert_eq!(users, [taken], "refused users were not stored");
}

// ---------------------------------------------------------------------------------------------
// Invites
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_invite_stays_open_until_the_web_flow_onboards_someone() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    if !p.permanent_writes("creates partner companies and invites") {
        return;
    }
    let company = create_company(&p, &complete_company(&unique_reference("company-invite"))).await;
    let company_id = text(&company, "id");
    let sent = json!({
        "email": email("invite"),
        "company": company_id,
        "success_url": "https://example.com/contract-test/onboarding/success",
        "failure_url": "https://example.com/contract-test/onboarding/failure",
        "first_name": "Erika",
        "last_name": "Musterfrau",
    });
    let (status, invite) = post(&p, INVITES, &sent).await;
    assert_eq!(status, StatusCode::CREATED, "POST {INVITES} {sent}: {invite}");
    assert_echoes(&sent, &invite, "invite");
    let id = text(&invite, "id");
    assert!(is_uuid(id), "{invite}");
    assert_eq!(invite["status"], "OPEN", "a new invite is open: {invite}");
    let invite_url = text(&invite, "invite_url");
    assert!(
        Url::parse(invite_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")),
        "invite_url is an absolute URL: {invite_url:?}"
    );
    let expiry = chrono::DateTime::parse_from_rfc3339(text(&invite, "expiry"))
        .unwrap_or_else(|e| panic!("expiry must be an ISO 8601 timestamp in {invite}: {e}"));
    // Tolerance: paywise sets the expiry from its own clock; only that it lies ahead is asserted.
    assert!(expiry > p.now(), "a new invite expires in the future: {invite}");

    let path = format!("{INVITES}{id}/");
    assert_eq!(
        p.get_json(&path, &[]).await,
        invite,
        "GET {path} shows the invite as created"
    );
    let onboarded = format!("{path}get-onboarded-user/");
    let (status, body) = send(p.get(&onboarded)).await;
    // paywise's Partner API file documents 400 `{"message": ...}` for this operation.
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "GET {onboarded} of an open invite: {body}"
    );
    assert!(
        body["message"].is_string(),
        "get-onboarded-user of an open invite: {body}"
    );

    let cases = [
        (json!({}), vec!["email", "company", "success_url", "failure_url"]),
        (
            json!({"email": "not-an-email", "company": UNKNOWN_UUID, "success_url": "nowhere",
                   "failure_url": "https://example.com/f"}),
            vec!["email", "company", "success_url"],
        ),
    ];
    for (body, fields) in cases {
        let (status, errors) = post(&p, INVITES, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "POST {INVITES} {body}: {errors}");
        assert_field_errors(&errors, &fields);
    }
    // An e-mail address a user has is in use for invites too.
    if scopes(&p).await.iter().any(|s| s == API_ONLY_ONBOARDING) {
        let user = create_user(&p, &user_body(company_id, &email("invite-taken"), false)).await;
        let mut body = sent.clone();
        body["email"] = user["email"].clone();
        let (status, errors) = post(&p, INVITES, &body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "an invite for a user's e-mail: {errors}"
        );
        assert_field_errors(&errors, &["email"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Acting for a company
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_partner_acts_for_a_verified_user_of_a_completed_company_with_x_user_id() {
    let Some(p) = PaywisePartner::connect().await else {
        return;
    };
    if !p.permanent_writes("creates partner companies and users") {
        return;
    }
    let complete = create_company(&p, &complete_company(&unique_reference("company-acting"))).await;
    if !can_onboard(&p, text(&complete, "id")).await {
        return;
    }
    let incomplete = create_company(&p, &incomplete_company(&unique_reference("company-not-acting"))).await;
    let verified = create_user(&p, &user_body(text(&complete, "id"), &email("acting"), true)).await;
    let unverified = create_user(
        &p,
        &user_body(text(&complete, "id"), &email("acting-unverified"), false),
    )
    .await;
    let of_incomplete = create_user(
        &p,
        &user_body(text(&incomplete, "id"), &email("acting-incomplete"), true),
    )
    .await;

    // The new company's own (empty) claim list.
    let (status, page) = send(p.get("/v1/claims/").header("X-User-Id", text(&verified, "id"))).await;
    assert_eq!(status, StatusCode::OK, "GET /v1/claims/ for a verified user: {page}");
    assert_eq!(page["count"], 0, "a new company has no claims: {page}");
    assert_eq!(page["results"], json!([]));

    for (why, header) in [
        ("without X-User-Id", None),
        ("for an unverified user", Some(text(&unverified, "id"))),
        ("for a user of an incomplete company", Some(text(&of_incomplete, "id"))),
        ("for an unknown user", Some(UNKNOWN_UUID)),
    ] {
        let mut req = p.get("/v1/claims/");
        if let Some(h) = header {
            req = req.header("X-User-Id", h);
        }
        let (status, body) = send(req).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "GET /v1/claims/ {why}: {body}");
        assert_detail(&body, &format!("GET /v1/claims/ {why}"));
    }
}
