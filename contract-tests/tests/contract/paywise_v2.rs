//! Contract tests for the paywise Case Management API v2 (`/v2/`), all 108 operations.
//!
//! They speak only HTTP through [`contract_tests::PaywiseV2`], so they run unchanged against our
//! mock (`CONTRACT_TARGET=mock`, the default) or paywise's sandbox (`CONTRACT_TARGET=sandbox`,
//! `PAYWISE_V2_BASE_URL` default `https://api-sandbox.paywise.de`, `PAYWISE_V2_TOKEN`). Every
//! answer is checked against `contracts/paywise-v2-openapi.json` (transcribed from paywise's
//! Python SDK); the assertions here add what the v2 reference (`paywise-v2.md`) documents:
//! statuses, shapes, the error envelope `{code, detail, errors[]}` (codes where the reference
//! names them, never the wording), offset pages with absolute links, the `updated_since` cursor
//! mode, `ETag`s (`304` to `If-None-Match`, `412` to a stale `If-Match`) and `Idempotency-Key`
//! replays (the same key and body answer the first answer again).
//!
//! **Data.** The tests create their own debtors, orders with claims (invoice, rental, titled),
//! documents (uploaded as `multipart/form-data` exactly as the SDK sends them), messages, payments
//! and webhooks, tagged with [`unique_reference`]. What they can remove is removed when the test
//! ends (draft orders are deleted, submitted ones withdrawn, webhooks deleted); debtors, messages
//! and payment reports have no delete in v2 and stay, tagged. What only paywise's staff create
//! (mandates, their history and documents, requests to client, statements, single-mandate
//! statements) is discovered through the list endpoints (e.g. the first mandate of
//! `GET /v2/mandates/`, the orders `awaiting_client_response` for their requests); when the target
//! has none, the test is recorded as skipped with what is missing. Against the mock the seeded
//! fixtures have them (one question attachment of an order request excepted: that test skips).
//! The operations below an order's requests to client are also exercised on an order of the
//! test's own: an empty page, and `404 not_found` for requests it does not have.
//!
//! **Time.** The event feed and `updated_since` pages hold back changes younger than 60 s. On a mock
//! this harness started, the test moves the mock's clock ([`Conn::let_time_pass`]); elsewhere it
//! waits in real time, and polls (bounded) before it gives up with a skip.

use chrono::{Datelike as _, Days, NaiveDate};
use contract_tests::v2::{
    PDF, PNG, UNKNOWN_UUID, Upload, assert_envelope, assert_error, assert_page, assert_replay, assert_stale,
    assert_timestamp, cents, command, conditional_get, delete, download, error_fields, follow, get, ids, inline_pdf,
    key, patch, post, put, ready_document, send, text, timestamp, upload, walk,
};
use contract_tests::{Conn, PaywiseV2, skip, unique_reference};
use reqwest::Method;
use serde_json::{Value, json};

const DEBTORS: &str = "/v2/debtors/";
const ORDERS: &str = "/v2/orders/";
const CLAIMS: &str = "/v2/claims/";
const MANDATES: &str = "/v2/mandates/";
const PAYMENTS: &str = "/v2/payments/";
const WEBHOOKS: &str = "/v2/webhooks/";
const DELIVERIES: &str = "/v2/webhook-deliveries/";

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// `days` days before the target's today.
// Tolerance: dates are placed relative to the target's today, so they differ between runs against
// a vendor; they are compared with what was sent, never with constants.
fn days_ago(c: &Conn, days: u64) -> NaiveDate {
    c.today().checked_sub_days(Days::new(days)).expect("a date in range")
}

/// The first day of the month `months` months before the target's current month.
fn month_start(c: &Conn, months: u32) -> NaiveDate {
    let first = c.today().with_day0(0).expect("day 1");
    first
        .checked_sub_months(chrono::Months::new(months))
        .expect("a date in range")
}

/// A consumer debtor (`DebtorWriteRequest`, `acting_as: consumer`).
fn consumer(reference: &str) -> Value {
    json!({
        "acting_as": "consumer",
        "your_reference": reference,
        "person": {"salutation": "ms", "first_name": "Erika", "last_name": "Mustermann", "birth_date": "1980-05-17"},
        "addresses": [{"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE", "primary": true}],
        "communication_channels": [{"type": "email", "value": "erika.mustermann@example.com"}],
    })
}

/// A business debtor with an organization.
fn business(reference: &str) -> Value {
    json!({
        "acting_as": "business",
        "your_reference": reference,
        "organization": {"name": "Musterbau GmbH"},
        "addresses": [{"street": "Industrieweg 7", "postal_code": "20095", "city": "Hamburg", "country": "DE"}],
        "bank_accounts": [{"iban": "DE89370400440532013000", "account_holder": "Musterbau GmbH"}],
    })
}

/// Creates a debtor; panics unless 201. The debtor.
async fn new_debtor(c: &Conn, what: &str) -> Value {
    let reply = post(c, DEBTORS, &consumer(&unique_reference(what)), &key()).await;
    reply.expect(201).clone()
}

/// A receivable claim as created inside an order or standalone (`ClaimCreateRequest`).
fn receivable(c: &Conn, value: &str) -> Value {
    json!({
        "type": "receivable",
        "is_disputed": false,
        "principal_amount": {"value": value, "currency": "EUR"},
        "your_reference": unique_reference("v2-claim"),
        "document_reference": unique_reference("RE"),
        "subject_matter": "Gartenmöbel",
        "document_date": days_ago(c, 60).to_string(),
        "due_date": days_ago(c, 46).to_string(),
    })
}

/// An invoice order body for `debtor` with `claims`, complete for finalization.
fn invoice_order(debtor: &str, claims: Vec<Value>) -> Value {
    json!({
        "debtor_id": debtor,
        "type": "invoice",
        "claims": claims,
        "starting_approach": "extrajudicial",
        "creditor_obligation_fulfilled": true,
    })
}

/// Creates an order from `body` (201), to be removed when the test ends: deleted while a draft,
/// withdrawn once submitted. The order.
async fn create_order(c: &Conn, body: &Value) -> Value {
    let order = post(c, ORDERS, body, &key()).await.expect(201).clone();
    let id = text(&order, "id");
    // Last registered, first undone: withdraw (if it was submitted), then delete (if a draft).
    c.cleanup_later(Method::DELETE, format!("{ORDERS}{id}/"), None);
    c.cleanup_command_later(
        format!("{ORDERS}{id}/withdraw/"),
        json!({"reason": "contract test cleanup"}),
    );
    order
}

/// A new debtor and a draft invoice order with one 120.00 claim for it.
async fn draft_order(c: &Conn, what: &str) -> Value {
    let debtor = new_debtor(c, what).await;
    create_order(c, &invoice_order(&text(&debtor, "id"), vec![receivable(c, "120.00")])).await
}

/// A draft order finalized: `submitted`.
async fn submitted_order(c: &Conn, what: &str) -> Value {
    let order = draft_order(c, what).await;
    let id = text(&order, "id");
    let done = command(c, &format!("{ORDERS}{id}/finalize/"), &key()).await;
    let body = done.expect(200).clone();
    assert_eq!(body["status"], "submitted", "a finalized order is submitted: {body}");
    body
}

/// The processing codes of a closed case.
fn closed(mandate: &Value) -> bool {
    matches!(
        mandate["state"]["processing"]["code"].as_str(),
        Some("ended" | "canceled_by_client" | "canceled_by_service_provider")
    )
}

/// The mandates the discovering tests look through: the first page (100) of the active main
/// cases, then the first page of the archived ones (`archived` omitted hides them).
// Tolerance: a vendor's company may hold thousands of cases; the search is bounded, and a target
// whose first 200 cases lack what a test needs makes that test a recorded skip.
async fn mandates(c: &Conn) -> Vec<Value> {
    let mut all = Vec::new();
    for query in [&[("limit", "100")][..], &[("limit", "100"), ("archived", "true")][..]] {
        let page = get(c, MANDATES, query).await;
        for m in assert_page(page.expect(200), MANDATES).clone() {
            if !all.iter().any(|x: &Value| x["id"] == m["id"]) {
                all.push(m);
            }
        }
    }
    all
}

/// The first mandate of `GET /v2/mandates/`, or a recorded skip.
async fn first_mandate(c: &Conn, what: &str) -> Option<Value> {
    let page = get(c, MANDATES, &[("limit", "1")]).await;
    let results = assert_page(page.expect(200), MANDATES).clone();
    match results.into_iter().next() {
        Some(m) => Some(m),
        None => {
            skip(&format!(
                "{what}: the target has no mandate (GET {MANDATES} is empty); paywise's staff open them"
            ));
            None
        }
    }
}

/// Asserts `doc` is a `DocumentRead` with a UUID-ish id and an RFC 3339 `updated_at`.
fn assert_document_read(doc: &Value) {
    assert!(doc["id"].is_string(), "a document has an id: {doc}");
    assert!(doc["filename"].is_string() && doc["mime_type"].is_string(), "{doc}");
    assert_timestamp(doc, "updated_at");
}

/// Exercises one document collection at `base` (`…/documents/`) of an editable parent
/// `(parent_type, parent_id)`: a `file` part (PDF) and a `base64` field (PNG) upload (201, replay),
/// the list, a conditional GET, both downloads (the bytes sent), a DELETE with `If-Match` (204)
/// after a stale one (412), and 404 once deleted.
async fn exercise_documents(c: &Conn, base: &str, kinds: (&str, &str), parent: (&str, Option<&str>)) {
    let idem = key();
    let first = upload(c, base, &Upload::pdf(kinds.0), &idem).await;
    let pdf = first.expect(201).clone();
    let replay = upload(c, base, &Upload::pdf(kinds.0), &idem).await;
    assert_replay(&first, &replay);
    let pdf_path = format!("{base}{}/", text(&pdf, "id"));
    let pdf = ready_document(c, &pdf_path, &pdf, kinds.0, parent).await;
    assert_document_read(&pdf);
    assert_eq!(pdf["mime_type"], "application/pdf", "the media type is detected: {pdf}");

    let png = upload(c, base, &Upload::png_base64(kinds.1), &key())
        .await
        .expect(201)
        .clone();
    let png_path = format!("{base}{}/", text(&png, "id"));
    let png = ready_document(c, &png_path, &png, kinds.1, parent).await;
    assert_eq!(png["mime_type"], "image/png", "{png}");
    assert!(
        text(&png, "filename").ends_with(".png"),
        "the file name's extension follows the detected type: {png}"
    );

    let listed = walk(c, base, &[("limit", "100")]).await;
    let listed_ids = ids(&listed);
    for doc in [&pdf, &png] {
        assert!(
            listed_ids.contains(&text(doc, "id")),
            "{base} lists {}: {listed_ids:?}",
            doc["id"]
        );
    }
    let read = conditional_get(c, &png_path).await;
    assert_eq!(read.body["id"], png["id"]);
    assert_eq!(
        download(c, &format!("{pdf_path}download/"), &[]).await,
        PDF,
        "the PDF's bytes"
    );
    assert_eq!(
        download(c, &format!("{png_path}download/"), &[]).await,
        PNG,
        "the PNG's bytes"
    );

    let tag = read.etag();
    // A validator that is not the current ETag refuses the delete; the current one deletes.
    assert_stale(&delete(c, &png_path, Some("\"contract-test-stale\"")).await);
    delete(c, &png_path, Some(&tag)).await.expect(204);
    assert_error(&get(c, &png_path, &[]).await, 404, Some("not_found"));
    let after = ids(&walk(c, base, &[("limit", "100")]).await);
    assert!(!after.contains(&text(&png, "id")), "a deleted document leaves the list");
}

// ---------------------------------------------------------------------------------------------
// Health, info, usage, legal forms, authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn health_needs_no_token_and_info_names_company_environment_and_scopes() {
    let pw = PaywiseV2::connect().await;
    let health = send(&pw, pw.client.get(pw.url("/v2/health/"))).await;
    let health = health.expect(200);
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["version"], "v2", "{health}");

    let info = get(&pw, "/v2/info/", &[]).await;
    let info = info.expect(200);
    assert!(info.is_object(), "v2's info is one object (v1's was a list): {info}");
    assert!(info["company"].as_str().is_some_and(|s| !s.is_empty()), "{info}");
    assert_eq!(info["environment"], "sandbox", "a sandbox key: {info}");
    let scopes = info["scopes"].as_array().expect("scopes is a list");
    assert!(scopes.iter().all(Value::is_string), "{info}");

    for path in ["/v2/info/", DEBTORS, ORDERS] {
        let anonymous = send(&pw, pw.client.get(pw.url(path))).await;
        assert_error(&anonymous, 401, None);
        let wrong = send(&pw, pw.client.get(pw.url(path)).bearer_auth("contract-test-not-a-key")).await;
        assert_error(&wrong, 401, None);
    }
}

#[tokio::test]
async fn usage_reports_each_limit_and_legal_forms_are_a_catalogue_with_an_etag() {
    let pw = PaywiseV2::connect().await;
    let usage = get(&pw, "/v2/usage/", &[]).await;
    let usage = usage.expect(200);
    assert_timestamp(usage, "generated_at");
    let limits = usage["limits"].as_array().expect("limits is a list");
    assert!(!limits.is_empty(), "the usage call itself is counted: {usage}");
    for l in limits {
        assert!(l["scope"].as_str().is_some_and(|s| !s.is_empty()), "{l}");
        for k in ["limit", "used", "remaining", "window_seconds"] {
            assert!(l[k].is_u64(), "`{k}` is a non-negative integer in {l}");
        }
        assert_timestamp(l, "resets_at");
    }

    let forms = conditional_get(&pw, "/v2/legal-forms/").await;
    let forms = forms.body.as_array().cloned().expect("legal-forms is a bare list");
    assert!(!forms.is_empty(), "an empty legal-form catalogue");
    let mut codes: Vec<String> = forms.iter().map(|f| text(f, "code")).collect();
    assert!(forms.iter().all(|f| f["label"].is_string()), "every form has a label");
    let n = codes.len();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), n, "legal-form codes are unique");
}

// ---------------------------------------------------------------------------------------------
// Debtors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debtors_are_created_once_per_key_read_with_etags_and_patched_with_if_match() {
    let pw = PaywiseV2::connect().await;
    let reference = unique_reference("v2-debtor");
    let body = consumer(&reference);
    let idem = key();
    let first = post(&pw, DEBTORS, &body, &idem).await;
    let debtor = first.expect(201).clone();
    let id = text(&debtor, "id");
    assert_eq!(debtor["acting_as"], "consumer");
    assert_eq!(debtor["your_reference"], reference.as_str());
    assert_eq!(debtor["person"]["last_name"], "Mustermann");
    assert_eq!(debtor["person"]["birth_date"], "1980-05-17");
    assert_eq!(debtor["organization"], Value::Null);
    let address = &debtor["addresses"][0];
    assert!(address["id"].is_string() && address["primary"] == true, "{debtor}");
    assert_eq!(address["postal_code"], "10115");
    assert_eq!(debtor["communication_channels"][0]["type"], "email");
    assert_timestamp(&debtor, "created_at");
    assert_timestamp(&debtor, "updated_at");
    // The same key and body: the first answer again, and no second debtor.
    assert_replay(&first, &post(&pw, DEBTORS, &body, &idem).await);
    let found = walk(&pw, DEBTORS, &[("your_reference", &reference)]).await;
    assert_eq!(ids(&found), std::slice::from_ref(&id), "one debtor per key");

    let read = conditional_get(&pw, &format!("{DEBTORS}{id}/")).await;
    assert_eq!(read.body, debtor, "GET returns the debtor as created");
    let tag = read.etag();

    let new_reference = unique_reference("v2-debtor-patched");
    let patched = patch(
        &pw,
        &format!("{DEBTORS}{id}/"),
        &json!({"your_reference": new_reference, "person": {"first_name": "Erica"}}),
        Some(&tag),
    )
    .await;
    let patched = patched.expect(200).clone();
    assert_eq!(patched["your_reference"], new_reference.as_str());
    // `person` merges: the last name stays.
    assert_eq!(patched["person"]["first_name"], "Erica");
    assert_eq!(patched["person"]["last_name"], "Mustermann");
    // Tolerance: updated_at is the target's clock: only its order against created_at is asserted.
    assert!(timestamp(&patched, "updated_at") >= timestamp(&debtor, "updated_at"));
    let stale = patch(
        &pw,
        &format!("{DEBTORS}{id}/"),
        &json!({"your_reference": "stale"}),
        Some(&tag),
    )
    .await;
    assert_stale(&stale);
    let now = get(&pw, &format!("{DEBTORS}{id}/"), &[]).await;
    assert_eq!(
        now.expect(200)["your_reference"],
        new_reference.as_str(),
        "a 412 changes nothing"
    );
    // Collections are replaced as a whole.
    let replaced = patch(
        &pw,
        &format!("{DEBTORS}{id}/"),
        &json!({"communication_channels": [{"type": "phone", "value": "+4930123456"}]}),
        None,
    )
    .await;
    let channels = replaced.expect(200)["communication_channels"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(channels.len(), 1, "the supplied list replaces the channels");
    assert_eq!(channels[0]["type"], "phone");

    let business_debtor = post(&pw, DEBTORS, &business(&unique_reference("v2-business")), &key()).await;
    let business_debtor = business_debtor.expect(201).clone();
    assert_eq!(business_debtor["organization"]["name"], "Musterbau GmbH");
    assert_eq!(business_debtor["person"], Value::Null);
    assert!(
        business_debtor["bank_accounts"][0]["id"].is_string(),
        "{business_debtor}"
    );
}

#[tokio::test]
async fn debtor_validation_errors_name_their_fields_in_the_envelope() {
    let pw = PaywiseV2::connect().await;
    // `person.last_name` is required: one errors[] item at that dotted path.
    let mut body = consumer(&unique_reference("v2-debtor-invalid"));
    body["person"] = json!({"first_name": "Erika"});
    let refused = post(&pw, DEBTORS, &body, &key()).await;
    let err = assert_error(&refused, 400, Some("validation_error"));
    assert!(error_fields(err).iter().any(|f| f == "person.last_name"), "{err}");
    // Unknown keys are rejected, not ignored.
    let mut body = consumer(&unique_reference("v2-debtor-unknown"));
    body["nickname"] = json!("Eri");
    assert_error(&post(&pw, DEBTORS, &body, &key()).await, 400, Some("validation_error"));
    // Every POST needs an Idempotency-Key (the status of its absence is the reference's inference).
    let without = send(&pw, pw.post(DEBTORS).json(&consumer(&unique_reference("v2-no-key")))).await;
    assert!(
        without.status.is_client_error(),
        "a POST without Idempotency-Key is refused: {}",
        without.status
    );
    assert_envelope(&without.body, "POST without Idempotency-Key");
    // Unknown ids are 404 not_found.
    assert_error(
        &get(&pw, &format!("{DEBTORS}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

#[tokio::test]
async fn debtor_lists_page_by_limit_and_offset_with_absolute_links_and_filter() {
    let pw = PaywiseV2::connect().await;
    let prefix = unique_reference("v2-page");
    let mut made = Vec::new();
    for i in 0..3 {
        made.push(text(
            &post(&pw, DEBTORS, &consumer(&format!("{prefix}-{i}")), &key())
                .await
                .expect(201)
                .clone(),
            "id",
        ));
    }
    let page = get(&pw, DEBTORS, &[("your_reference", &prefix), ("limit", "2")]).await;
    let first = page.expect(200).clone();
    let results = assert_page(&first, DEBTORS);
    assert_eq!(first["count"], 3, "`your_reference` is a substring filter: {first}");
    assert_eq!(results.len(), 2, "a page holds `limit` rows");
    assert_eq!(first["previous"], Value::Null);
    let next = text(&first, "next");
    let second = follow(&pw, &next).await;
    let second = second.expect(200).clone();
    assert_eq!(assert_page(&second, DEBTORS).len(), 1);
    assert_eq!(second["next"], Value::Null);
    assert!(second["previous"].is_string(), "the second page links back: {second}");
    let mut walked = ids(&walk(&pw, DEBTORS, &[("your_reference", &prefix), ("limit", "2")]).await);
    walked.sort();
    made.sort();
    assert_eq!(walked, made, "the walk returns each debtor once");

    let one = &made[0];
    assert_eq!(
        ids(&walk(&pw, DEBTORS, &[("id", one)]).await),
        std::slice::from_ref(one)
    );
    let businesses = walk(&pw, DEBTORS, &[("your_reference", &prefix), ("acting_as", "business")]).await;
    assert!(
        businesses.is_empty(),
        "acting_as=business finds no consumer: {businesses:?}"
    );
    // List rows are DebtorList: no bank_accounts, communication_channels, legal_representatives
    // are promised there; the detail has them.
    let detail = get(&pw, &format!("{DEBTORS}{one}/"), &[]).await;
    assert!(detail.expect(200)["communication_channels"].is_array());
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_order_is_drafted_patched_finalized_and_withdrawn() {
    let pw = PaywiseV2::connect().await;
    let debtor = new_debtor(&pw, "v2-order").await;
    let debtor_id = text(&debtor, "id");
    let co_debtor = post(&pw, DEBTORS, &business(&unique_reference("v2-co-debtor")), &key()).await;
    let co_debtor_id = text(co_debtor.expect(201), "id");
    let mut body = invoice_order(&debtor_id, vec![receivable(&pw, "120.00")]);
    body["confirmation_email"] = json!("buchhaltung@example.com");
    let idem = key();
    let first = post(&pw, ORDERS, &body, &idem).await;
    let order = first.expect(201).clone();
    let id = text(&order, "id");
    pw.cleanup_later(Method::DELETE, format!("{ORDERS}{id}/"), None);
    pw.cleanup_command_later(format!("{ORDERS}{id}/withdraw/"), json!({}));
    assert_eq!(order["type"], "invoice");
    assert_eq!(order["status"], "draft");
    assert_eq!(order["debtor"]["id"], debtor_id.as_str());
    assert!(
        order["additional_debtors"].as_array().is_none_or(Vec::is_empty),
        "no co-debtors yet: {order}"
    );
    assert_eq!(order["confirmation_email"], "buchhaltung@example.com");
    assert_eq!(order["mandate"], Value::Null);
    let claim = &order["claims"][0];
    assert_eq!(claim["type"], "receivable");
    assert_eq!(claim["status"], "draft");
    assert_eq!(claim["order_id"], id.as_str());
    assert_eq!(claim["debtor_id"], debtor_id.as_str());
    assert_eq!(cents(&claim["principal_amount"], "principal"), 12_000);
    assert_eq!(cents(&order["totals"]["main_claims"], "totals.main_claims"), 12_000);
    // expires_at = updated_at + 90 days for API drafts.
    assert_eq!(
        timestamp(&order, "expires_at") - timestamp(&order, "updated_at"),
        chrono::Duration::days(90),
        "{order}"
    );
    assert_replay(&first, &post(&pw, ORDERS, &body, &idem).await);

    let read = conditional_get(&pw, &format!("{ORDERS}{id}/")).await;
    assert_eq!(read.body["id"], id.as_str());
    let tag = read.etag();
    assert_eq!(
        ids(&walk(&pw, ORDERS, &[("q", &id)]).await),
        std::slice::from_ref(&id),
        "q=<order id> finds it"
    );
    let drafts = walk(
        &pw,
        ORDERS,
        &[("q", &debtor_id), ("status", "draft"), ("type", "invoice")],
    )
    .await;
    assert!(ids(&drafts).contains(&id), "q=<debtor id>&status=draft finds it");
    assert!(
        walk(&pw, ORDERS, &[("q", &debtor_id), ("status", "submitted")])
            .await
            .is_empty()
    );

    let patched = patch(
        &pw,
        &format!("{ORDERS}{id}/"),
        &json!({"confirmation_email": null, "additional_debtor_ids": [co_debtor_id]}),
        Some(&tag),
    )
    .await;
    let patched = patched.expect(200).clone();
    assert_eq!(patched["confirmation_email"], Value::Null);
    assert_eq!(patched["additional_debtors"][0]["id"], co_debtor_id.as_str());
    assert_eq!(patched["claims"][0]["additional_debtor_ids"], json!([co_debtor_id]));
    assert_stale(
        &patch(
            &pw,
            &format!("{ORDERS}{id}/"),
            &json!({"confirmation_email": "x@example.com"}),
            Some(&tag),
        )
        .await,
    );

    let finalize_key = key();
    let finalized = command(&pw, &format!("{ORDERS}{id}/finalize/"), &finalize_key).await;
    let submitted = finalized.expect(200).clone();
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(
        submitted["expires_at"],
        Value::Null,
        "finalization ends the draft's expiry"
    );
    assert!(
        submitted["claims"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["status"] == "submitted"))
    );
    assert_replay(
        &finalized,
        &command(&pw, &format!("{ORDERS}{id}/finalize/"), &finalize_key).await,
    );
    assert_error(
        &command(&pw, &format!("{ORDERS}{id}/finalize/"), &key()).await,
        409,
        None,
    );
    let late = patch(
        &pw,
        &format!("{ORDERS}{id}/"),
        &json!({"confirmation_email": "late@example.com"}),
        None,
    )
    .await;
    assert_error(&late, 409, Some("claim_not_editable"));
    assert_error(&delete(&pw, &format!("{ORDERS}{id}/"), None).await, 409, None);

    let withdrawn = post(
        &pw,
        &format!("{ORDERS}{id}/withdraw/"),
        &json!({"reason": "Der Schuldner hat direkt gezahlt."}),
        &key(),
    )
    .await;
    let withdrawn = withdrawn.expect(200);
    assert_eq!(withdrawn["status"], "withdrawn");
    assert!(
        withdrawn["claims"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["status"] == "withdrawn"))
    );
}

#[tokio::test]
async fn a_draft_order_is_deleted_with_if_match_and_an_incomplete_one_is_not_finalized() {
    let pw = PaywiseV2::connect().await;
    let order = draft_order(&pw, "v2-order-delete").await;
    let id = text(&order, "id");
    // A draft cannot be withdrawn.
    assert_error(
        &post(&pw, &format!("{ORDERS}{id}/withdraw/"), &json!({}), &key()).await,
        409,
        None,
    );
    let tag = conditional_get(&pw, &format!("{ORDERS}{id}/")).await.etag();
    assert_stale(&delete(&pw, &format!("{ORDERS}{id}/"), Some("\"contract-test-stale\"")).await);
    delete(&pw, &format!("{ORDERS}{id}/"), Some(&tag)).await.expect(204);
    assert_error(&get(&pw, &format!("{ORDERS}{id}/"), &[]).await, 404, Some("not_found"));

    // Without starting_approach and creditor_obligation_fulfilled the aggregate is incomplete.
    let debtor = new_debtor(&pw, "v2-order-incomplete").await;
    let incomplete = create_order(
        &pw,
        &json!({"debtor_id": text(&debtor, "id"), "type": "invoice", "claims": [receivable(&pw, "50.00")]}),
    )
    .await;
    let refused = command(&pw, &format!("{ORDERS}{}/finalize/", text(&incomplete, "id")), &key()).await;
    // The reference's mapping of an incomplete aggregate (codes not given).
    assert_error(&refused, 422, None);
    // An unknown debtor is a validation error of the create.
    let bad = post(
        &pw,
        ORDERS,
        &invoice_order(UNKNOWN_UUID, vec![receivable(&pw, "10.00")]),
        &key(),
    )
    .await;
    assert_error(&bad, 400, Some("validation_error"));
}

// ---------------------------------------------------------------------------------------------
// Claims and their payments
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn claims_are_added_to_a_draft_patched_deleted_and_frozen_by_finalization() {
    let pw = PaywiseV2::connect().await;
    let order = draft_order(&pw, "v2-claims").await;
    let order_id = text(&order, "id");
    let inline_id = text(&order["claims"][0], "id");
    let reference = unique_reference("v2-standalone");
    let mut body = receivable(&pw, "100.00");
    body["order_id"] = json!(order_id);
    body["your_reference"] = json!(reference);
    body["items"] = json!([{"description": "Wartung", "quantity": "2", "unit": "h", "unit_price": {"value": "50.00"}}]);
    body["additional_charges"] = json!([{"type": "reminder_fee", "amount": {"value": "5.00"}, "occurrence_date": days_ago(&pw, 20).to_string()}]);
    body["reminders"] = json!([{"date": days_ago(&pw, 30).to_string(), "due_date": days_ago(&pw, 20).to_string()}]);
    body["metadata"] = json!([{"type": "comment", "value": "contract test"}]);
    let idem = key();
    let first = post(&pw, CLAIMS, &body, &idem).await;
    let claim = first.expect(201).clone();
    let id = text(&claim, "id");
    assert_eq!(claim["type"], "receivable");
    assert_eq!(claim["status"], "draft");
    assert_eq!(claim["order_id"], order_id.as_str());
    assert_eq!(claim["mandate_id"], Value::Null);
    assert_eq!(claim["your_reference"], reference.as_str());
    assert_eq!(cents(&claim["principal_amount"], "principal"), 10_000);
    assert_eq!(cents(&claim["additional_charges_amount"], "charges"), 500);
    assert_eq!(
        cents(&claim["total_amount"], "total"),
        10_500,
        "principal + charges: {claim}"
    );
    assert_eq!(
        cents(&claim["items"][0]["amount"], "item"),
        10_000,
        "quantity × unit price"
    );
    assert_eq!(claim["additional_charges"][0]["type"], "reminder_fee");
    assert!(claim["reminders"][0]["id"].is_string(), "{claim}");
    assert!(
        claim["delay_date"].is_string(),
        "delay_date is computed when omitted: {claim}"
    );
    assert_replay(&first, &post(&pw, CLAIMS, &body, &idem).await);

    let read = conditional_get(&pw, &format!("{CLAIMS}{id}/")).await;
    assert_eq!(read.body["id"], id.as_str());
    let tag = read.etag();
    let mut in_order = ids(&walk(&pw, CLAIMS, &[("order_id", &order_id)]).await);
    in_order.sort();
    let mut want = vec![inline_id.clone(), id.clone()];
    want.sort();
    assert_eq!(in_order, want, "order_id lists the order's claims");
    assert_eq!(
        ids(&walk(
            &pw,
            CLAIMS,
            &[("your_reference", &format!("  {} ", reference.to_uppercase()))]
        )
        .await),
        std::slice::from_ref(&id),
        "your_reference is exact, case-insensitive and trimmed"
    );
    assert!(
        walk(&pw, CLAIMS, &[("order_id", &order_id), ("status", "accepted")])
            .await
            .is_empty()
    );

    let patched = patch(
        &pw,
        &format!("{CLAIMS}{id}/"),
        &json!({"is_disputed": true, "dispute_reason": "Leistung mangelhaft", "subject_matter": "Wartung 2026"}),
        Some(&tag),
    )
    .await;
    let patched = patched.expect(200).clone();
    assert_eq!(patched["is_disputed"], true);
    assert_eq!(patched["dispute_reason"], "Leistung mangelhaft");
    assert_eq!(patched["subject_matter"], "Wartung 2026");
    assert_stale(
        &patch(
            &pw,
            &format!("{CLAIMS}{id}/"),
            &json!({"subject_matter": "stale"}),
            Some(&tag),
        )
        .await,
    );
    // A disputed claim needs a reason.
    assert_error(
        &patch(
            &pw,
            &format!("{CLAIMS}{inline_id}/"),
            &json!({"is_disputed": true}),
            None,
        )
        .await,
        400,
        Some("validation_error"),
    );
    let cleared = patch(
        &pw,
        &format!("{CLAIMS}{id}/"),
        &json!({"is_disputed": false, "additional_charges": []}),
        None,
    )
    .await;
    let cleared = cleared.expect(200).clone();
    assert_eq!(cleared["additional_charges"], json!([]), "`[]` clears the charges");
    assert_eq!(cents(&cleared["total_amount"], "total"), 10_000);

    // Payments already received: recorded and, on a draft, deletable.
    let pay_body = json!({"amount": {"value": "20.00", "currency": "EUR"}, "value_date": days_ago(&pw, 10).to_string(), "your_reference": unique_reference("v2-payment")});
    let pay_key = key();
    let first = post(&pw, &format!("{CLAIMS}{id}/payments/"), &pay_body, &pay_key).await;
    let payment = first.expect(201).clone();
    assert_eq!(payment["claim"]["id"], id.as_str());
    assert_eq!(cents(&payment["amount"], "payment"), 2_000);
    assert_eq!(payment["value_date"], pay_body["value_date"]);
    assert_replay(
        &first,
        &post(&pw, &format!("{CLAIMS}{id}/payments/"), &pay_body, &pay_key).await,
    );
    let future = json!({"amount": {"value": "5.00"}, "value_date": pw.today().checked_add_days(Days::new(1)).map(|d| d.to_string())});
    assert_error(
        &post(&pw, &format!("{CLAIMS}{id}/payments/"), &future, &key()).await,
        400,
        Some("validation_error"),
    );
    let payments = walk(&pw, &format!("{CLAIMS}{id}/payments/"), &[]).await;
    assert_eq!(ids(&payments), [text(&payment, "id")]);
    let after = get(&pw, &format!("{CLAIMS}{id}/"), &[]).await;
    assert_eq!(
        cents(&after.expect(200)["total_amount"], "total"),
        8_000,
        "payments reduce the open amount"
    );
    delete(&pw, &format!("{CLAIMS}{id}/payments/{}/", text(&payment, "id")), None)
        .await
        .expect(204);
    assert!(walk(&pw, &format!("{CLAIMS}{id}/payments/"), &[]).await.is_empty());

    let tag = conditional_get(&pw, &format!("{CLAIMS}{id}/")).await.etag();
    delete(&pw, &format!("{CLAIMS}{id}/"), Some(&tag)).await.expect(204);
    assert_error(&get(&pw, &format!("{CLAIMS}{id}/"), &[]).await, 404, Some("not_found"));

    command(&pw, &format!("{ORDERS}{order_id}/finalize/"), &key())
        .await
        .expect(200);
    assert_error(
        &patch(
            &pw,
            &format!("{CLAIMS}{inline_id}/"),
            &json!({"subject_matter": "too late"}),
            None,
        )
        .await,
        409,
        Some("claim_not_editable"),
    );
    assert_error(
        &delete(&pw, &format!("{CLAIMS}{inline_id}/"), None).await,
        409,
        Some("claim_not_editable"),
    );
    let mut late = receivable(&pw, "10.00");
    late["order_id"] = json!(order_id);
    assert_error(&post(&pw, CLAIMS, &late, &key()).await, 409, Some("claim_not_editable"));
    // Payments stay recordable in every state.
    let later = json!({"amount": {"value": "10.00"}, "value_date": days_ago(&pw, 1).to_string()});
    let recorded = post(&pw, &format!("{CLAIMS}{inline_id}/payments/"), &later, &key()).await;
    assert_eq!(recorded.expect(201)["claim"]["id"], inline_id.as_str());
}

#[tokio::test]
async fn claim_documents_are_uploaded_as_the_sdk_sends_them_downloaded_and_deleted() {
    let pw = PaywiseV2::connect().await;
    let order = draft_order(&pw, "v2-claim-documents").await;
    let claim_id = text(&order["claims"][0], "id");
    let base = format!("{CLAIMS}{claim_id}/documents/");
    exercise_documents(&pw, &base, ("invoice", "payment_proof"), ("claim", Some(&claim_id))).await;
    // Exactly one of `file` and `base64`; the type must fit the parent.
    let both = Upload {
        base64: Some(contract_tests::v2::base64(PDF)),
        ..Upload::pdf("invoice")
    };
    assert_error(&upload(&pw, &base, &both, &key()).await, 400, None);
    let neither = Upload {
        kind: "invoice",
        ..Upload::default()
    };
    assert_error(&upload(&pw, &base, &neither, &key()).await, 400, None);
    assert_error(
        &upload(&pw, &base, &Upload::pdf("rental_agreement"), &key()).await,
        400,
        None,
    );
    let claim = get(&pw, &format!("{CLAIMS}{claim_id}/"), &[]).await;
    assert_eq!(
        claim.expect(200)["documents"].as_array().map(Vec::len),
        Some(1),
        "the claim shows its documents"
    );
}

// ---------------------------------------------------------------------------------------------
// Titled orders: the enforceable title and its documents
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_titled_claim_owns_an_enforceable_title_that_is_read_patched_replaced_and_deleted() {
    let pw = PaywiseV2::connect().await;
    let debtor = new_debtor(&pw, "v2-titled").await;
    let titled = json!({
        "type": "titled",
        "is_disputed": false,
        "your_reference": unique_reference("v2-title"),
        "subject_matter": "Vollstreckungsbescheid Kaufpreis",
        "enforceable_title": {
            "title_type": "enforcement_order",
            "amount": {"value": "1500.00", "currency": "EUR"},
            "file_number": "24-1234567-0-1",
            "issuing_authority": "Amtsgericht Hünfeld",
            "issued_on": days_ago(&pw, 400).to_string(),
            "documents": [inline_pdf("enforceable_title")],
        },
    });
    let order = create_order(
        &pw,
        &json!({"debtor_id": text(&debtor, "id"), "type": "titled", "claims": [titled], "success_fee_confirmed": true}),
    )
    .await;
    assert_eq!(order["type"], "titled");
    assert_eq!(order["success_fee_confirmed"], true);
    let claim = &order["claims"][0];
    let claim_id = text(claim, "id");
    assert_eq!(claim["type"], "titled");
    assert_eq!(
        claim["principal_amount"],
        Value::Null,
        "a titled claim has no principal"
    );
    assert_eq!(
        cents(&claim["total_amount"], "total"),
        150_000,
        "the title's gross amount"
    );

    let path = format!("{CLAIMS}{claim_id}/enforceable-title/");
    let read = conditional_get(&pw, &path).await;
    let title = read.body.clone();
    assert_eq!(title["title_type"], "enforcement_order");
    assert_eq!(title["file_number"], "24-1234567-0-1");
    assert_eq!(title["issued_on"], days_ago(&pw, 400).to_string());
    assert_eq!(cents(&title["amount"], "title amount"), 150_000);
    let primary = title["documents"][0].clone();
    assert_eq!(primary["type"], "enforceable_title");
    let title_id = text(&title, "id");

    let patched = patch(
        &pw,
        &path,
        &json!({"served_on": days_ago(&pw, 390).to_string()}),
        Some(&read.etag()),
    )
    .await;
    let patched = patched.expect(200).clone();
    assert_eq!(patched["served_on"], days_ago(&pw, 390).to_string());
    assert_eq!(
        patched["title_type"], "enforcement_order",
        "PATCH keeps what it does not name"
    );
    assert_stale(
        &patch(
            &pw,
            &path,
            &json!({"served_on": days_ago(&pw, 380).to_string()}),
            Some(&read.etag()),
        )
        .await,
    );
    // served_on may not precede issued_on.
    assert_error(
        &patch(&pw, &path, &json!({"served_on": days_ago(&pw, 500).to_string()}), None).await,
        400,
        Some("validation_error"),
    );

    let tag = get(&pw, &path, &[]).await.etag();
    let replaced = put(
        &pw,
        &path,
        &json!({
            "title_type": "final_judgment",
            "amount": {"value": "1600.00"},
            "file_number": "3 O 12/25",
            "issuing_authority": "Landgericht Berlin",
            "issued_on": days_ago(&pw, 300).to_string(),
            "legally_binding_since": days_ago(&pw, 270).to_string(),
        }),
        Some(&tag),
    )
    .await;
    let replaced = replaced.expect(200).clone();
    assert_eq!(replaced["title_type"], "final_judgment");
    assert_eq!(replaced["served_on"], Value::Null, "PUT replaces the whole title");
    assert_eq!(cents(&replaced["amount"], "title amount"), 160_000);
    let claim_now = get(&pw, &format!("{CLAIMS}{claim_id}/"), &[]).await;
    assert_eq!(cents(&claim_now.expect(200)["total_amount"], "total"), 160_000);

    let docs = format!("{path}documents/");
    exercise_documents(
        &pw,
        &docs,
        ("enforceable_title", "other"),
        ("enforceable_title", Some(&title_id)),
    )
    .await;
    // Uploaded again, the extra PDF must go before the title can; so must the primary one.
    let remaining = walk(&pw, &docs, &[]).await;
    let refused = delete(&pw, &path, None).await;
    let err = assert_error(&refused, 409, None);
    if let Some(listed) = err["document_ids"].as_array() {
        let mut named: Vec<String> = listed.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        let mut want = ids(&remaining);
        named.sort();
        want.sort();
        assert_eq!(
            named, want,
            "TitledDeleteConflictError names the documents to delete first"
        );
    }
    for doc in &remaining {
        delete(&pw, &format!("{docs}{}/", text(doc, "id")), None)
            .await
            .expect(204);
    }
    assert!(
        remaining.iter().any(|d| d["id"] == primary["id"]),
        "the inline title document is listed"
    );
    let tag = get(&pw, &path, &[]).await.etag();
    assert_stale(&delete(&pw, &path, Some("\"contract-test-stale\"")).await);
    delete(&pw, &path, Some(&tag)).await.expect(204);

    // A receivable claim has no enforceable title: 404 or 409 (the reference's open question 14).
    let receivable_order = draft_order(&pw, "v2-receivable").await;
    let other = text(&receivable_order["claims"][0], "id");
    let none = get(&pw, &format!("{CLAIMS}{other}/enforceable-title/"), &[]).await;
    assert!(
        matches!(none.status.as_u16(), 404 | 409),
        "a receivable's title: {}",
        none.status
    );
    assert_envelope(&none.body, &none.request);
}

// ---------------------------------------------------------------------------------------------
// Rental orders: the rental agreement and its documents
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_rental_order_has_an_agreement_that_is_read_and_patched_with_its_documents() {
    let pw = PaywiseV2::connect().await;
    let debtor = new_debtor(&pw, "v2-rental").await;
    let mut rent = receivable(&pw, "950.00");
    rent["subject_matter"] = json!("Miete");
    rent["document_date"] = json!(month_start(&pw, 2).to_string());
    if let Some(m) = rent.as_object_mut() {
        m.remove("due_date");
    }
    rent["legal_basis"] = json!({"claim_type_code": "H19"});
    let order = create_order(
        &pw,
        &json!({
            "debtor_id": text(&debtor, "id"),
            "type": "rental",
            "claims": [rent],
            "starting_approach": "extrajudicial",
            "creditor_obligation_fulfilled": true,
            "rental_agreement": {
                "contract_date": "2024-01-15",
                "monthly_rent": {"value": "950.00"},
                "property_address": {"street": "Gartenweg 3", "postal_code": "04109", "city": "Leipzig", "country": "DE"},
                "due_rule": {"day": 3, "kind": "business_day"},
            },
        }),
    )
    .await;
    let order_id = text(&order, "id");
    assert_eq!(order["type"], "rental");
    let claim = &order["claims"][0];
    assert_eq!(claim["legal_basis"]["claim_type_code"], "H19");
    assert_eq!(
        claim["legal_basis"]["contract_date"], "2024-01-15",
        "the agreement supplies the contract date"
    );
    assert!(
        claim["due_date"].is_string(),
        "the due date is derived from the due rule: {claim}"
    );

    let path = format!("{ORDERS}{order_id}/rental-agreement/");
    let read = conditional_get(&pw, &path).await;
    let agreement = read.body.clone();
    assert_eq!(agreement["id"], order["rental_agreement"]["id"]);
    assert_eq!(agreement["contract_date"], "2024-01-15");
    assert_eq!(cents(&agreement["monthly_rent"], "rent"), 95_000);
    assert_eq!(agreement["property_address"]["postal_code"], "04109");
    assert_eq!(agreement["due_rule"], json!({"day": 3, "kind": "business_day"}));

    let patched = patch(
        &pw,
        &path,
        &json!({"monthly_rent": {"value": "1000.00"}, "due_rule": {"day": 1, "kind": "calendar_day"}}),
        Some(&read.etag()),
    )
    .await;
    let patched = patched.expect(200).clone();
    assert_eq!(cents(&patched["monthly_rent"], "rent"), 100_000);
    assert_eq!(patched["due_rule"]["kind"], "calendar_day");
    assert_eq!(
        patched["contract_date"], "2024-01-15",
        "PATCH keeps what it does not name"
    );
    assert_stale(
        &patch(
            &pw,
            &path,
            &json!({"monthly_rent": {"value": "1.00"}}),
            Some(&read.etag()),
        )
        .await,
    );
    // Both keys of due_rule are required, even in a PATCH.
    assert_error(
        &patch(&pw, &path, &json!({"due_rule": {"day": 5}}), None).await,
        400,
        Some("validation_error"),
    );
    let moved = patch(&pw, &path, &json!({"contract_date": "2024-02-01"}), None).await;
    assert_eq!(moved.expect(200)["contract_date"], "2024-02-01");
    let claim_now = get(&pw, &format!("{CLAIMS}{}/", text(claim, "id")), &[]).await;
    assert_eq!(
        claim_now.expect(200)["legal_basis"]["contract_date"],
        "2024-02-01",
        "the agreement's date rewrites the rent claims' contract date"
    );

    let agreement_id = text(&agreement, "id");
    exercise_documents(
        &pw,
        &format!("{path}documents/"),
        ("rental_agreement", "other"),
        ("rental_agreement", Some(&agreement_id)),
    )
    .await;

    // An invoice order has no rental agreement: 404 or 409 (the reference's open question 14).
    let invoice = draft_order(&pw, "v2-not-rental").await;
    let none = get(&pw, &format!("{ORDERS}{}/rental-agreement/", text(&invoice, "id")), &[]).await;
    assert!(
        matches!(none.status.as_u16(), 404 | 409),
        "an invoice order's agreement: {}",
        none.status
    );
    assert_envelope(&none.body, &none.request);
}

// ---------------------------------------------------------------------------------------------
// Order messages and their documents
// ---------------------------------------------------------------------------------------------

/// Exercises the messages of `parent` (`/v2/orders/{id}/` or `/v2/mandates/{id}/`): create with
/// an inline document (201, replay), the list, a conditional GET, PATCH with `If-Match` (200) and
/// a stale one (412), and the message's document collection.
async fn exercise_messages(c: &Conn, parent: &str, parent_type: &str, parent_id: &str) {
    let base = format!("{parent}messages/");
    let title = unique_reference("v2-message");
    let body = json!({
        "title": title,
        "body": "<p>Bitte <b>prüfen</b>.</p><script>alert(1)</script>",
        "documents": [inline_pdf("correspondence")],
    });
    let idem = key();
    let first = post(c, &base, &body, &idem).await;
    let message = first.expect(201).clone();
    let id = text(&message, "id");
    assert_eq!(message["title"], title.as_str());
    let html = text(&message, "body");
    assert!(
        html.contains("prüfen") && !html.contains("<script"),
        "the body is sanitized HTML: {html:?}"
    );
    assert_eq!(message["author"]["type"], "api");
    assert_eq!(message["sender"], "client");
    assert_eq!(message["state"], "under_review");
    assert_eq!(message["editable"], true);
    assert_eq!(message["parent"], json!({"id": parent_id, "type": parent_type}));
    assert!(
        text(&message, "href").ends_with(&format!("{base}{id}/")),
        "href is the message's API URL: {message}"
    );
    let inline = message["documents"][0].clone();
    assert_eq!(inline["type"], "correspondence");
    assert_replay(&first, &post(c, &base, &body, &idem).await);
    // The body must stay non-empty once sanitized.
    let empty = json!({"title": "Leer", "body": "<script></script>"});
    assert_error(&post(c, &base, &empty, &key()).await, 400, Some("validation_error"));

    assert!(ids(&walk(c, &base, &[("limit", "100")]).await).contains(&id));
    let path = format!("{base}{id}/");
    let read = conditional_get(c, &path).await;
    assert_eq!(read.body["id"], id.as_str());
    let edited = patch(
        c,
        &path,
        &json!({"title": format!("{title} (ergänzt)")}),
        Some(&read.etag()),
    )
    .await;
    let edited = edited.expect(200).clone();
    assert_eq!(edited["title"], format!("{title} (ergänzt)"));
    assert_eq!(edited["body"], message["body"], "PATCH keeps what it does not name");
    assert_stale(&patch(c, &path, &json!({"body": "stale"}), Some(&read.etag())).await);
    // At least one of title and body.
    assert_error(&patch(c, &path, &json!({}), None).await, 400, Some("validation_error"));

    let docs = format!("{path}documents/");
    exercise_documents(c, &docs, ("other", "payment_proof"), ("message", Some(&id))).await;
    let listed = ids(&walk(c, &docs, &[]).await);
    assert!(
        listed.contains(&text(&inline, "id")),
        "the inline document is one of the message's documents"
    );
    assert_error(
        &get(c, &format!("{base}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

#[tokio::test]
async fn order_messages_carry_documents_and_stay_editable_while_under_review() {
    let pw = PaywiseV2::connect().await;
    let order = submitted_order(&pw, "v2-order-messages").await;
    let id = text(&order, "id");
    exercise_messages(&pw, &format!("{ORDERS}{id}/"), "order", &id).await;
}

// ---------------------------------------------------------------------------------------------
// Order requests to client
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn order_requests_to_client_are_a_page_and_unknown_requests_are_not_found() {
    let pw = PaywiseV2::connect().await;
    let order = submitted_order(&pw, "v2-order-rtc").await;
    let base = format!("{ORDERS}{}/requests-to-client/", text(&order, "id"));
    let page = get(&pw, &base, &[]).await;
    // Tolerance: whether paywise has asked about a just-submitted order is paywise's; only the
    // shape of the page is asserted.
    let rows = assert_page(page.expect(200), &base).clone();
    for r in &rows {
        assert!(
            r["order"]["id"] == order["id"],
            "an order's request names the order: {r}"
        );
    }
    let unknown = format!("{base}{UNKNOWN_UUID}/");
    assert_error(&get(&pw, &unknown, &[]).await, 404, Some("not_found"));
    assert_error(
        &post(&pw, &format!("{unknown}answer/"), &json!({"text": "yes"}), &key()).await,
        404,
        Some("not_found"),
    );
    assert_error(
        &get(&pw, &format!("{unknown}attachments/{UNKNOWN_UUID}/download/"), &[]).await,
        404,
        None,
    );
    let docs = format!("{unknown}answer/documents/");
    assert_error(&get(&pw, &docs, &[]).await, 404, Some("not_found"));
    assert_error(
        &upload(&pw, &docs, &Upload::pdf("other"), &key()).await,
        404,
        Some("not_found"),
    );
    assert_error(
        &get(&pw, &format!("{docs}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
    assert_error(
        &delete(&pw, &format!("{docs}{UNKNOWN_UUID}/"), None).await,
        404,
        Some("not_found"),
    );
    assert_error(
        &get(&pw, &format!("{docs}{UNKNOWN_UUID}/download/"), &[]).await,
        404,
        None,
    );
}

/// The body that answers a request of `kind` (`allowed_answer_types`) with the affirmative.
fn answer_for(c: &Conn, kind: &str) -> Value {
    match kind {
        "yes-no" | "yes-no-freetext-on-no" => json!({"text": "yes"}),
        "yes-no-dontknow" => json!({"text": "dontknow"}),
        "yes-with-date-no-freetext-on-no" => json!({"text": "yes", "booking_date": days_ago(c, 2).to_string()}),
        "freetext" => json!({"text": "Die Zahlung ist am Montag eingegangen (contract test)."}),
        // fileupload: text, documents or both; the uploaded answer documents count.
        _ => json!({"text": "Anbei (contract test)."}),
    }
}

/// Answers the open request at `path` (`…/requests-to-client/{id}/`): 200 with the answer, a
/// replay, and 409 for a second answer.
async fn answer_request(c: &Conn, path: &str, kind: &str) {
    let body = answer_for(c, kind);
    let idem = key();
    let first = post(c, &format!("{path}answer/"), &body, &idem).await;
    let answered = first.expect(200).clone();
    assert_eq!(answered["answered"], true, "{answered}");
    assert_timestamp(&answered, "answered_at");
    assert_eq!(answered["answer"]["text"], body["text"], "{answered}");
    if let Some(date) = body.get("booking_date") {
        assert_eq!(&answered["answer"]["booking_date"], date);
    }
    assert_replay(&first, &post(c, &format!("{path}answer/"), &body, &idem).await);
    let again = post(
        c,
        &format!("{path}answer/"),
        &json!({"text": "no", "additional_comment": "doch nicht"}),
        &key(),
    )
    .await;
    assert_error(&again, 409, None);
    let read = get(c, path, &[]).await;
    assert_eq!(read.expect(200)["answered"], true);
}

/// Exercises the answer documents of the open `fileupload` request at `path`.
async fn exercise_answer_documents(c: &Conn, path: &str) {
    let docs = format!("{path}answer/documents/");
    exercise_documents(c, &docs, ("invoice", "other"), ("request_to_client_answer", None)).await;
}

#[tokio::test]
async fn a_published_order_request_to_client_is_answered_once() {
    let pw = PaywiseV2::connect().await;
    let waiting = walk(&pw, ORDERS, &[("status", "awaiting_client_response"), ("limit", "100")]).await;
    let mut open = Vec::new();
    for order in &waiting {
        let base = format!("{ORDERS}{}/requests-to-client/", text(order, "id"));
        for r in walk(&pw, &base, &[("answered", "false")]).await {
            open.push((base.clone(), r));
        }
    }
    let Some((base, request)) = open
        .iter()
        .find(|(_, r)| r["allowed_answer_types"] == "fileupload")
        .or_else(|| open.first())
        .cloned()
    else {
        skip(&format!(
            "the target has no order awaiting an answer with a published request to client ({} orders awaiting_client_response, none with an open request); only paywise's staff publish them",
            waiting.len()
        ));
        return;
    };
    let path = format!("{base}{}/", text(&request, "id"));
    let read = conditional_get(&pw, &path).await;
    assert_eq!(read.body["answered"], false);
    assert!(text(&read.body, "href").ends_with(&path), "{}", read.body);
    assert!(read.body["order"]["id"].is_string());
    let answered_only = walk(&pw, &base, &[("answered", "true")]).await;
    assert!(
        !ids(&answered_only).contains(&text(&request, "id")),
        "answered=true hides open requests"
    );
    let kind = text(&request, "allowed_answer_types");
    if kind == "fileupload" {
        exercise_answer_documents(&pw, &path).await;
    }
    answer_request(&pw, &path, &kind).await;
}

#[tokio::test]
async fn a_question_attachment_of_an_order_request_downloads() {
    let pw = PaywiseV2::connect().await;
    // Tolerance: bounded to the first 100 orders awaiting an answer.
    let page = get(&pw, ORDERS, &[("status", "awaiting_client_response"), ("limit", "100")]).await;
    let orders = assert_page(page.expect(200), ORDERS).clone();
    for order in &orders {
        let base = format!("{ORDERS}{}/requests-to-client/", text(order, "id"));
        for r in walk(&pw, &base, &[]).await {
            if let Some(a) = r["question_attachments"].as_array().and_then(|a| a.first()) {
                assert!(a["filename"].is_string() && a["mime_type"].is_string(), "{a}");
                let url = format!("{base}{}/attachments/{}/download/", text(&r, "id"), text(a, "id"));
                assert!(!download(&pw, &url, &[]).await.is_empty());
                return;
            }
        }
    }
    skip("no request to client of the target's orders carries a question attachment (paywise's staff attach them)");
}

// ---------------------------------------------------------------------------------------------
// Mandates: list, detail, documents, history (what paywise's staff create: discovered)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn mandates_are_main_cases_with_state_balance_and_filters() {
    let pw = PaywiseV2::connect().await;
    let Some(mandate) = first_mandate(&pw, "mandate list and detail").await else {
        return;
    };
    let id = text(&mandate, "id");
    for k in ["reference_number", "created_at", "updated_at"] {
        assert!(mandate[k].is_string(), "a mandate row has `{k}`: {mandate}");
    }
    for dim in ["legal_stage", "processing", "payment"] {
        let v = &mandate["state"][dim];
        assert!(
            v["code"].is_string() && v["label"].is_string() && v["label_key"].is_string(),
            "state.{dim}: {mandate}"
        );
    }
    assert!(
        mandate["debtor"].get("id").is_none_or(Value::is_null),
        "the debtor is a snapshot without id: {mandate}"
    );
    cents(&mandate["total_amount"], "total_amount");

    let read = conditional_get(&pw, &format!("{MANDATES}{id}/")).await;
    let detail = read.body.clone();
    assert_eq!(detail["reference_number"], mandate["reference_number"]);
    assert!(detail["claims"].is_array() && detail["subcases"].is_array(), "{detail}");
    if let Some(balance) = detail["legal_balance"].as_object() {
        let parts = [
            "principal_claim",
            "interest_on_principal_claim",
            "costs_interest_bearing",
            "costs_interest_free",
            "interest_on_costs",
        ];
        let sum = |prefix: &str| {
            parts
                .iter()
                .map(|p| cents(&balance[&format!("{prefix}{p}")], p))
                .sum::<i64>()
        };
        // The components add up to the totals.
        assert_eq!(
            sum("legal_claim_of_"),
            cents(&balance["total_legal_claim"], "total_legal_claim")
        );
        assert_eq!(sum("payment_on_"), cents(&balance["total_payment"], "total_payment"));
        assert_eq!(sum("balance_of_"), cents(&balance["total_balance"], "total_balance"));
    }
    let with_history = get(
        &pw,
        &format!("{MANDATES}{id}/"),
        &[("history", "true"), ("expand", "history.related_resources")],
    )
    .await;
    assert!(
        with_history.expect(200)["history"].is_array(),
        "history=true embeds the history"
    );

    let reference = text(&mandate, "reference_number");
    let by_ref = walk(&pw, MANDATES, &[("reference_number", &reference)]).await;
    assert!(ids(&by_ref).contains(&id), "reference_number finds the mandate");
    let code = text(&mandate["state"]["payment"], "code");
    let other = if code == "unpaid" { "fully_paid" } else { "unpaid" };
    let by_state = walk(
        &pw,
        MANDATES,
        &[("payment_state", &code), ("payment_state", other), ("limit", "100")],
    )
    .await;
    assert!(
        ids(&by_state).contains(&id),
        "payment_state repeats (OR): {code} or {other}"
    );
    assert!(
        by_state
            .iter()
            .all(|m| [code.as_str(), other].contains(&m["state"]["payment"]["code"].as_str().unwrap_or("")))
    );
    assert_error(
        &get(&pw, &format!("{MANDATES}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

#[tokio::test]
async fn a_mandate_document_downloads() {
    let pw = PaywiseV2::connect().await;
    for m in mandates(&pw).await {
        let id = text(&m, "id");
        let docs = get(&pw, &format!("{MANDATES}{id}/documents/"), &[]).await;
        // MandateDocumentPage: the four keys, all optional in the SDK.
        let rows = docs.expect(200)["results"].as_array().cloned().unwrap_or_default();
        let times: Vec<_> = rows.iter().map(|d| timestamp(d, "created_at")).collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "newest first by default: {times:?}"
        );
        if let Some(doc) = rows.iter().find(|d| d["status"] == "ready") {
            assert!(
                doc.get("parent").is_none_or(Value::is_null),
                "a mandate document has no parent: {doc}"
            );
            let path = format!("{MANDATES}{id}/documents/{}/download/", text(doc, "id"));
            assert!(!download(&pw, &path, &[]).await.is_empty());
            let wrong = format!("{MANDATES}{id}/documents/{UNKNOWN_UUID}/download/");
            assert_error(&get(&pw, &wrong, &[]).await, 404, None);
            return;
        }
    }
    skip("no mandate of the target has a ready document");
}

#[tokio::test]
async fn a_history_attachment_downloads() {
    let pw = PaywiseV2::connect().await;
    for m in mandates(&pw).await {
        let id = text(&m, "id");
        let history = get(
            &pw,
            &format!("{MANDATES}{id}/history/"),
            &[("expand", "history.related_resources")],
        )
        .await;
        for entry in history.expect(200)["results"].as_array().cloned().unwrap_or_default() {
            assert_eq!(entry["type"], "status_update", "{entry}");
            if let Some(a) = entry["attachments"].as_array().and_then(|a| a.first()) {
                assert!(a["filename"].is_string() && a["mime_type"].is_string(), "{a}");
                let entry_id = text(&entry, "id");
                let path = format!(
                    "{MANDATES}{id}/history/{entry_id}/attachments/{}/download/",
                    text(a, "id")
                );
                assert!(!download(&pw, &path, &[]).await.is_empty());
                let wrong = format!("{MANDATES}{id}/history/{entry_id}/attachments/{UNKNOWN_UUID}/download/");
                assert_error(&get(&pw, &wrong, &[]).await, 404, None);
                return;
            }
        }
    }
    skip("no history entry of the target's mandates has an attachment");
}

#[tokio::test]
async fn mandate_history_pages_newest_first() {
    let pw = PaywiseV2::connect().await;
    let Some(mandate) = first_mandate(&pw, "mandate history").await else {
        return;
    };
    let id = text(&mandate, "id");
    let entries = walk(&pw, &format!("{MANDATES}{id}/history/"), &[("limit", "2")]).await;
    for e in &entries {
        assert_timestamp(e, "occurred_at");
        assert!(e["state"].is_object(), "{e}");
    }
    let times: Vec<_> = entries.iter().map(|e| timestamp(e, "occurred_at")).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first by default: {times:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Mandate messages, payments and requests to client
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn mandate_messages_carry_documents() {
    let pw = PaywiseV2::connect().await;
    let Some(mandate) = mandates(&pw).await.into_iter().find(|m| !closed(m)) else {
        skip("the target has no open mandate to write to");
        return;
    };
    let id = text(&mandate, "id");
    exercise_messages(&pw, &format!("{MANDATES}{id}/"), "mandate", &id).await;
    assert_error(
        &post(
            &pw,
            &format!("{MANDATES}{UNKNOWN_UUID}/messages/"),
            &json!({"title": "x", "body": "y"}),
            &key(),
        )
        .await,
        404,
        Some("not_found"),
    );
}

#[tokio::test]
async fn payments_reported_on_a_mandate_are_listed_and_read() {
    let pw = PaywiseV2::connect().await;
    let Some(mandate) = mandates(&pw).await.into_iter().find(|m| !closed(m)) else {
        skip("the target has no open mandate to report a payment on");
        return;
    };
    let id = text(&mandate, "id");
    let reference = unique_reference("v2-mandate-payment");
    let body = json!({"amount": {"value": "15.00", "currency": "EUR"}, "value_date": days_ago(&pw, 5).to_string(), "your_reference": reference});
    let idem = key();
    let first = post(&pw, &format!("{MANDATES}{id}/payments/"), &body, &idem).await;
    let payment = first.expect(201).clone();
    let payment_id = text(&payment, "id");
    assert_eq!(cents(&payment["amount"], "amount"), 1_500);
    assert_eq!(payment["amount"]["currency"], "EUR");
    assert_eq!(payment["mandate"]["id"], id.as_str());
    assert_eq!(payment["value_date"], body["value_date"]);
    assert_replay(
        &first,
        &post(&pw, &format!("{MANDATES}{id}/payments/"), &body, &idem).await,
    );
    let zero = json!({"amount": {"value": "0.00"}, "value_date": days_ago(&pw, 1).to_string()});
    assert_error(
        &post(&pw, &format!("{MANDATES}{id}/payments/"), &zero, &key()).await,
        400,
        Some("validation_error"),
    );

    assert!(ids(&walk(&pw, &format!("{MANDATES}{id}/payments/"), &[("limit", "100")]).await).contains(&payment_id));
    assert!(ids(&walk(&pw, PAYMENTS, &[("mandate", &id), ("limit", "100")]).await).contains(&payment_id));
    assert_eq!(
        ids(&walk(&pw, PAYMENTS, &[("your_reference", &reference)]).await),
        std::slice::from_ref(&payment_id)
    );
    let day = days_ago(&pw, 5).to_string();
    let window = walk(
        &pw,
        PAYMENTS,
        &[
            ("mandate", &id),
            ("value_date_after", &day),
            ("value_date_before", &day),
            ("limit", "100"),
        ],
    )
    .await;
    assert!(
        ids(&window).contains(&payment_id),
        "value_date_after/before are inclusive"
    );
    assert!(window.iter().all(|p| p["value_date"] == day.as_str()));

    let read = conditional_get(&pw, &format!("{PAYMENTS}{payment_id}/")).await;
    assert_eq!(read.body["mandate"]["id"], id.as_str());
    assert_eq!(read.body["your_reference"], reference.as_str());
    assert_timestamp(&read.body, "created_at");
    assert_error(
        &get(&pw, &format!("{PAYMENTS}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

#[tokio::test]
async fn mandate_requests_to_client_are_read_answered_and_take_answer_documents() {
    let pw = PaywiseV2::connect().await;
    let all = mandates(&pw).await;
    let mut open: Vec<(String, Value)> = Vec::new();
    for m in all.iter().filter(|m| !closed(m)) {
        let base = format!("{MANDATES}{}/requests-to-client/", text(m, "id"));
        for r in walk(&pw, &base, &[("limit", "100")]).await {
            if r["answered"] == false {
                open.push((base.clone(), r));
            }
        }
    }
    let Some((base, request)) = open
        .iter()
        .find(|(_, r)| r["allowed_answer_types"] == "fileupload")
        .cloned()
    else {
        skip(
            "no open mandate of the target has an unanswered fileupload request to client (paywise's staff publish them)",
        );
        return;
    };
    let path = format!("{base}{}/", text(&request, "id"));
    let read = conditional_get(&pw, &path).await;
    let r = &read.body;
    assert_eq!(r["answered"], false);
    assert_eq!(r["answer"], Value::Null);
    assert!(text(r, "href").ends_with(&path), "{r}");
    assert!(
        r["mandate"]["id"].is_string() && r["mandate"]["reference_number"].is_string(),
        "{r}"
    );
    let unanswered = ids(&walk(&pw, &base, &[("answered", "false")]).await);
    assert!(unanswered.contains(&text(r, "id")));
    assert_error(
        &get(&pw, &format!("{path}attachments/{UNKNOWN_UUID}/download/"), &[]).await,
        404,
        None,
    );

    exercise_answer_documents(&pw, &path).await;
    answer_request(&pw, &path, "fileupload").await;
    let answered = ids(&walk(&pw, &base, &[("answered", "true")]).await);
    assert!(answered.contains(&text(r, "id")), "answered=true lists it now");

    // Each other open type, once, with its rules.
    let mut seen = vec!["fileupload".to_string()];
    for (b, other) in &open {
        let kind = text(other, "allowed_answer_types");
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind.clone());
        let p = format!("{b}{}/", text(other, "id"));
        if kind == "yes-with-date-no-freetext-on-no" {
            // `yes` needs a booking date.
            assert_error(
                &post(&pw, &format!("{p}answer/"), &json!({"text": "yes"}), &key()).await,
                400,
                Some("validation_error"),
            );
        }
        if kind != "freetext" && kind != "fileupload" {
            // booking_date is forbidden where the type has no date.
            if kind != "yes-with-date-no-freetext-on-no" {
                let dated = json!({"text": "yes", "booking_date": days_ago(&pw, 1).to_string()});
                assert_error(
                    &post(&pw, &format!("{p}answer/"), &dated, &key()).await,
                    400,
                    Some("validation_error"),
                );
            }
        }
        answer_request(&pw, &p, &kind).await;
    }
}

#[tokio::test]
async fn a_question_attachment_of_a_mandate_request_downloads() {
    let pw = PaywiseV2::connect().await;
    for m in mandates(&pw).await {
        let base = format!("{MANDATES}{}/requests-to-client/", text(&m, "id"));
        for r in walk(&pw, &base, &[("limit", "100")]).await {
            if let Some(a) = r["question_attachments"].as_array().and_then(|a| a.first()) {
                assert!(a["filename"].is_string() && a["download_url"].is_string(), "{a}");
                let url = format!("{base}{}/attachments/{}/download/", text(&r, "id"), text(a, "id"));
                assert!(!download(&pw, &url, &[]).await.is_empty());
                return;
            }
        }
    }
    skip("no request to client of the target's mandates carries a question attachment");
}

// ---------------------------------------------------------------------------------------------
// Statements and single-mandate statements (paywise's: discovered)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn statements_carry_financials_files_and_case_rows() {
    let pw = PaywiseV2::connect().await;
    let list = get(&pw, "/v2/statements/", &[("limit", "5")]).await;
    let rows = assert_page(list.expect(200), "/v2/statements/").clone();
    let Some(row) = rows.into_iter().find(|s| s["status"] == "published") else {
        skip("the target has no published statement (paywise publishes them)");
        return;
    };
    let id = text(&row, "id");
    assert!(
        row["clearing_no"].is_string() && row["booking_date"].is_string(),
        "{row}"
    );
    let read = conditional_get(&pw, &format!("/v2/statements/{id}/")).await;
    let s = read.body.clone();
    assert_eq!(s["status"], "published");
    assert_eq!(s["cancelled_at"], Value::Null);
    for entry in s["financials"]["vat_entries"].as_array().cloned().unwrap_or_default() {
        let rate: f64 = text(&entry, "vat_rate").parse().expect("a decimal VAT rate");
        assert!(
            rate == 0.0 || rate >= 1.0,
            "collective statements write percent rates (\"19.00\"): {entry}"
        );
    }
    let files = s["files"].as_array().cloned().unwrap_or_default();
    for f in &files {
        let kind = text(f, "type");
        let bytes = download(&pw, &format!("/v2/statements/{id}/download/"), &[("type", &kind)]).await;
        if kind == "full-pdf" {
            assert!(bytes.starts_with(b"%PDF"), "full-pdf is a PDF");
        }
    }
    if files.iter().any(|f| f["type"] == "full-pdf") {
        let default = download(&pw, &format!("/v2/statements/{id}/download/"), &[]).await;
        assert!(default.starts_with(b"%PDF"), "the default download is full-pdf");
    }
    assert_error(
        &get(
            &pw,
            &format!("/v2/statements/{id}/download/"),
            &[("type", "everything-zip")],
        )
        .await,
        400,
        None,
    );

    let cases = get(&pw, &format!("/v2/statements/{id}/mandates/"), &[("limit", "2")]).await;
    let cases = cases.expect(200).clone();
    let case_rows = cases["results"].as_array().cloned().unwrap_or_default();
    if let Some(first) = case_rows.first() {
        let reference = text(first, "reference_number");
        let by_ref = get(
            &pw,
            &format!("/v2/statements/{id}/mandates/"),
            &[("reference_number", &reference)],
        )
        .await;
        let found = by_ref.expect(200)["results"].as_array().cloned().unwrap_or_default();
        assert!(
            found.iter().any(|r| r["id"] == first["id"]),
            "reference_number filters the case rows"
        );
        let by_case = walk(
            &pw,
            "/v2/statements/",
            &[("mandate_reference_number", &reference), ("limit", "100")],
        )
        .await;
        assert!(
            ids(&by_case).contains(&id),
            "mandate_reference_number finds the statements of a case"
        );
    }
    let published = walk(
        &pw,
        "/v2/statements/",
        &[("status", "published"), ("ordering", "-booking_date"), ("limit", "100")],
    )
    .await;
    assert!(published.iter().all(|s| s["status"] == "published"));
    let dates: Vec<String> = published.iter().map(|s| text(s, "booking_date")).collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "ordering=-booking_date: {dates:?}"
    );
    assert_error(
        &get(&pw, &format!("/v2/statements/{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

#[tokio::test]
async fn single_mandate_statements_use_fraction_vat_rates_and_download_as_pdf() {
    let pw = PaywiseV2::connect().await;
    let base = "/v2/single-mandate-statements/";
    let list = get(&pw, base, &[("status", "published"), ("limit", "5")]).await;
    let rows = assert_page(list.expect(200), base).clone();
    let Some(row) = rows.first().cloned() else {
        skip("the target has no published single-mandate statement (paywise publishes them)");
        return;
    };
    let id = text(&row, "id");
    assert!(rows.iter().all(|s| s["status"] == "published"));
    let read = conditional_get(&pw, &format!("{base}{id}/")).await;
    let s = read.body.clone();
    assert!(
        s["statement_type"].is_string() && s["reference_number"].is_string(),
        "{s}"
    );
    for entry in s["financials"]["vat_entries"].as_array().cloned().unwrap_or_default() {
        let rate: f64 = text(&entry, "vat_rate").parse().expect("a decimal VAT rate");
        assert!(
            rate < 1.0,
            "single-mandate statements write fractions (\"0.19\"): {entry}"
        );
    }
    if let Some(mandate) = s["mandate"]["id"].as_str() {
        assert!(ids(&walk(&pw, base, &[("mandate", mandate), ("limit", "100")]).await).contains(&id));
    }
    let by_type = walk(
        &pw,
        base,
        &[("statement_type", &text(&s, "statement_type")), ("limit", "100")],
    )
    .await;
    assert!(ids(&by_type).contains(&id));
    assert!(
        download(&pw, &format!("{base}{id}/download/"), &[])
            .await
            .starts_with(b"%PDF"),
        "a PDF"
    );
    assert_error(
        &get(&pw, &format!("{base}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

// ---------------------------------------------------------------------------------------------
// Webhooks and deliveries
// ---------------------------------------------------------------------------------------------

/// A receiver URL: on this machine (for a target here) a loopback receiver answering 204;
/// elsewhere a public HTTPS URL that paywise may try (its deliveries fail or are refused there).
async fn receiver_url(c: &Conn, what: &str) -> String {
    if c.is_local() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let _ = socket.read(&mut buf).await;
                    let _ = socket
                        .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        format!("http://{addr}/{}", unique_reference(what))
    } else {
        format!("https://example.com/{}", unique_reference(what))
    }
}

/// Polls the delivery at `path` until it settled (`success` or `failed`): bounded, 20 s.
async fn settled_delivery(c: &Conn, path: &str) -> Option<Value> {
    for _ in 0..80 {
        let d = get(c, path, &[]).await.expect(200).clone();
        if matches!(d["status"].as_str(), Some("success" | "failed")) {
            return Some(d);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    None
}

#[tokio::test]
async fn webhooks_are_created_with_a_secret_once_patched_rotated_tested_and_deleted() {
    let pw = PaywiseV2::connect().await;
    let url = receiver_url(&pw, "v2-webhook").await;
    let body = json!({"url": url, "description": "contract test", "events": ["order.submitted", "order.accepted"], "max_consecutive_failures": 10});
    let idem = key();
    let first = post(&pw, WEBHOOKS, &body, &idem).await;
    let hook = first.expect(201).clone();
    let id = text(&hook, "id");
    pw.cleanup_later(Method::DELETE, format!("{WEBHOOKS}{id}/"), None);
    assert_eq!(hook["url"], url.as_str());
    assert!(
        hook["secret_key"].as_str().is_some_and(|s| !s.is_empty()),
        "create answers the secret once: {hook}"
    );
    assert_eq!(hook["enabled"], true);
    assert_eq!(hook["auto_disabled"], false);
    assert_eq!(hook["contract_version"], "v2", "API-created endpoints are v2");
    assert_eq!(hook["events"], json!(["order.submitted", "order.accepted"]));
    assert_eq!(hook["max_consecutive_failures"], 10);
    assert_eq!(hook["consecutive_failures"], 0);
    let replay = post(&pw, WEBHOOKS, &body, &idem).await;
    assert_replay(&first, &replay);
    assert!(
        replay.body.get("secret_key").is_none_or(|s| s.is_null() || s == ""),
        "replays omit the secret: {}",
        replay.body
    );

    assert!(ids(&walk(&pw, WEBHOOKS, &[("enabled", "true"), ("limit", "100")]).await).contains(&id));
    assert!(!ids(&walk(&pw, WEBHOOKS, &[("enabled", "false"), ("limit", "100")]).await).contains(&id));
    let read = conditional_get(&pw, &format!("{WEBHOOKS}{id}/")).await;
    assert!(
        read.body.get("secret_key").is_none(),
        "reads never show the secret: {}",
        read.body
    );
    let patched = patch(
        &pw,
        &format!("{WEBHOOKS}{id}/"),
        &json!({"description": "contract test (all)", "events": ["*"]}),
        Some(&read.etag()),
    )
    .await;
    let patched = patched.expect(200).clone();
    assert_eq!(patched["events"], json!(["*"]));
    assert_eq!(patched["description"], "contract test (all)");
    assert_stale(
        &patch(
            &pw,
            &format!("{WEBHOOKS}{id}/"),
            &json!({"description": "stale"}),
            Some(&read.etag()),
        )
        .await,
    );
    // The wildcard stands alone.
    assert_error(
        &patch(
            &pw,
            &format!("{WEBHOOKS}{id}/"),
            &json!({"events": ["*", "order.submitted"]}),
            None,
        )
        .await,
        400,
        Some("validation_error"),
    );

    let rotated = command(&pw, &format!("{WEBHOOKS}{id}/rotate-secret/"), &key()).await;
    let rotated = rotated.expect(200);
    assert_eq!(rotated["id"], id.as_str());
    assert!(
        rotated["secret_key"].is_string() && rotated["secret_key"] != hook["secret_key"],
        "a new secret: {rotated}"
    );

    let tested = post(
        &pw,
        &format!("{WEBHOOKS}{id}/test/"),
        &json!({"event": "order.submitted"}),
        &key(),
    )
    .await;
    let result = tested.expect(202).clone();
    for k in ["delivery_id", "event_id", "detail"] {
        assert!(result[k].is_string(), "CaseWebhookCommandResult has `{k}`: {result}");
    }
    let delivery_id = text(&result, "delivery_id");
    let path = format!("{DELIVERIES}{delivery_id}/");
    let delivery = get(&pw, &path, &[]).await.expect(200).clone();
    assert_eq!(delivery["webhook"], id.as_str());
    assert_eq!(delivery["webhook_url"], url.as_str());
    assert_eq!(delivery["event_id"], result["event_id"]);
    assert_eq!(delivery["event_type"], "order.submitted");
    assert_eq!(delivery["payload"]["type"], "order.submitted");
    assert_eq!(
        delivery["payload"]["id"], result["event_id"],
        "the payload is the envelope sent"
    );
    assert!(ids(&walk(&pw, DELIVERIES, &[("webhook", &id), ("limit", "100")]).await).contains(&delivery_id));
    let typed = walk(&pw, DELIVERIES, &[("webhook", &id), ("event_type", "order.submitted")]).await;
    assert!(ids(&typed).contains(&delivery_id));
    assert_error(
        &get(&pw, &format!("{DELIVERIES}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );

    match settled_delivery(&pw, &path).await {
        Some(done) => {
            // Settled, it no longer changes: its ETag answers 304.
            conditional_get(&pw, &path).await;
            let again = command(&pw, &format!("{path}redeliver/"), &key()).await;
            let again = again.expect(202).clone();
            assert_eq!(again["event_id"], done["event_id"], "a redelivery keeps the event id");
            let redelivery = get(&pw, &format!("{DELIVERIES}{}/", text(&again, "delivery_id")), &[]).await;
            let redelivery = redelivery.expect(200).clone();
            assert_eq!(redelivery["event_id"], done["event_id"]);
            if again["delivery_id"] != done["id"] {
                assert_ne!(
                    redelivery["idempotency_key"], done["idempotency_key"],
                    "a redelivery gets a new idempotency key"
                );
            }
            let statuses = walk(
                &pw,
                DELIVERIES,
                &[("webhook", &id), ("status", done["status"].as_str().unwrap_or(""))],
            )
            .await;
            assert!(statuses.iter().all(|d| d["status"] == done["status"]));
        }
        None => {
            // Still held by the dispatcher: a redelivery is refused until it settles.
            let refused = command(&pw, &format!("{path}redeliver/"), &key()).await;
            assert_error(&refused, 409, Some("delivery_in_progress"));
        }
    }
    let off = patch(&pw, &format!("{WEBHOOKS}{id}/"), &json!({"enabled": false}), None).await;
    assert_eq!(off.expect(200)["enabled"], false);
    assert_error(&command(&pw, &format!("{path}redeliver/"), &key()).await, 409, None);

    let tag = get(&pw, &format!("{WEBHOOKS}{id}/"), &[]).await.etag();
    assert_stale(&delete(&pw, &format!("{WEBHOOKS}{id}/"), Some("\"contract-test-stale\"")).await);
    delete(&pw, &format!("{WEBHOOKS}{id}/"), Some(&tag)).await.expect(204);
    assert_error(
        &get(&pw, &format!("{WEBHOOKS}{id}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

// ---------------------------------------------------------------------------------------------
// The event feed and `updated_since` pages: changes settle for a minute
// ---------------------------------------------------------------------------------------------

/// The event feed pages `{cursor, next, results}` of `query`, from `since`, followed to the end
/// (bounded): the events and the last page.
async fn feed(c: &Conn, path: &str, query: &[(&str, &str)]) -> (Vec<Value>, Value) {
    let first = get(c, path, query).await;
    let mut page = first.expect(200).clone();
    let mut events = Vec::new();
    for _ in 0..50 {
        let results = page["results"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("{path}: results is a list: {page}"));
        assert!(page.get("count").is_none(), "the feed has no count: {page}");
        let empty = results.is_empty();
        events.extend(results);
        match page["next"].as_str() {
            Some(next) if !empty => {
                assert!(
                    page["cursor"].is_string(),
                    "`cursor` is on every page with events: {page}"
                );
                // The SDK's pager fetches `next` as a URL; the reference calls it the cursor to
                // pass as `since` (its open question 2): either is followed.
                page = if next.starts_with("http://") || next.starts_with("https://") {
                    follow(c, next).await.expect(200).clone()
                } else {
                    let mut q = query.to_vec();
                    q.retain(|(k, _)| *k != "since");
                    q.push(("since", next));
                    get(c, path, &q).await.expect(200).clone()
                };
            }
            _ => return (events, page),
        }
    }
    panic!("{path}: the feed did not end after 50 pages");
}

#[tokio::test]
async fn changes_settle_into_the_event_feed_and_updated_since_pages() {
    let pw = PaywiseV2::connect().await;
    let company = text(get(&pw, "/v2/info/", &[]).await.expect(200), "company");
    // Tolerance: `since` is the target's clock a second before the changes.
    let since = (pw.now() - chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let debtor = new_debtor(&pw, "v2-sync").await;
    let debtor_id = text(&debtor, "id");
    let order = create_order(&pw, &invoice_order(&debtor_id, vec![receivable(&pw, "80.00")])).await;
    let order_id = text(&order, "id");
    command(&pw, &format!("{ORDERS}{order_id}/finalize/"), &key())
        .await
        .expect(200);

    // Younger than a minute: held back from updated_since pages.
    let early = get(&pw, DEBTORS, &[("updated_since", &since), ("limit", "100")]).await;
    let early = early.expect(200).clone();
    assert_eq!(
        early["previous"],
        Value::Null,
        "previous is always null in updated_since mode"
    );

    let mut found = None;
    for attempt in 0..4 {
        pw.let_time_pass(std::time::Duration::from_secs(if attempt == 0 { 61 } else { 10 }))
            .await;
        let (events, _) = feed(
            &pw,
            "/v2/events/",
            &[("event_type", "order.submitted"), ("limit", "100")],
        )
        .await;
        if let Some(e) = events.into_iter().find(|e| e["data"]["order_id"] == order_id.as_str()) {
            found = Some(e);
            break;
        }
    }
    let Some(event) = found else {
        skip("order.submitted did not reach the event feed within 90 s");
        return;
    };
    assert_eq!(event["type"], "order.submitted");
    assert!(event["id"].is_string());
    assert_timestamp(&event, "created_at");
    assert_eq!(event["data"]["company_id"], company.as_str());
    assert_eq!(
        event["data"]["order_url"],
        format!("/v2/orders/{order_id}/"),
        "event links are API paths"
    );
    let claim_ids: Vec<String> = order["claims"].as_array().map(|c| ids(c)).unwrap_or_default();
    if let Some(listed) = event["data"]["claim_ids"].as_array() {
        let listed: Vec<String> = listed.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        let mut want = claim_ids.clone();
        want.sort();
        assert_eq!(listed, want, "claim_ids: the full claim set sorted by UUID");
    }
    // Cursor paging: one event per page, `cursor` on every page; from the last cursor nothing new.
    let (events, last) = feed(&pw, "/v2/events/", &[("event_type", "order.submitted"), ("limit", "1")]).await;
    let seen = ids(&events);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "the feed repeats no event");
    assert!(seen.contains(&text(&event, "id")));
    let cursor = text(&last, "cursor");
    assert_eq!(last["next"], Value::Null);
    let quiet = get(
        &pw,
        "/v2/events/",
        &[("event_type", "order.submitted"), ("since", &cursor)],
    )
    .await;
    let quiet = quiet.expect(200).clone();
    assert_eq!(quiet["results"], json!([]), "nothing newer than the last cursor");
    assert_eq!(
        quiet["cursor"],
        cursor.as_str(),
        "an empty page keeps the requested since"
    );
    assert_eq!(quiet["next"], Value::Null);

    // updated_since: ordered by change, cursor paging inside `next`, previous always null.
    let mut rows = Vec::new();
    let first = get(&pw, DEBTORS, &[("updated_since", &since), ("limit", "1")]).await;
    let mut page = first.expect(200).clone();
    for _ in 0..200 {
        assert_eq!(
            page["previous"],
            Value::Null,
            "previous is always null in updated_since mode"
        );
        let results = assert_page(&page, DEBTORS).clone();
        let empty = results.is_empty();
        rows.extend(results);
        match page["next"].as_str() {
            Some(next) if !empty => {
                assert!(next.contains("cursor="), "the next page continues by cursor: {next}");
                let next = next.to_string();
                page = follow(&pw, &next).await.expect(200).clone();
            }
            _ => break,
        }
    }
    assert!(
        ids(&rows).contains(&debtor_id),
        "the new debtor is in updated_since once settled"
    );
    let times: Vec<_> = rows.iter().map(|r| timestamp(r, "updated_at")).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "ordered by updated_at: {times:?}"
    );
    let since_time = chrono::DateTime::parse_from_rfc3339(&since)
        .expect("since")
        .with_timezone(&chrono::Utc);
    assert!(
        times.iter().all(|t| *t >= since_time),
        "rows changed at or after updated_since"
    );
    let orders = walk(&pw, ORDERS, &[("updated_since", &since), ("limit", "100")]).await;
    assert!(
        ids(&orders).contains(&order_id),
        "orders have the updated_since mode too"
    );
}
