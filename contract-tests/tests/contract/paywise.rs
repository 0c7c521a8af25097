//! Contract tests for the paywise Case Management API v1 slice: claims and debtors.
//!
//! They speak only HTTP through [`contract_tests::Paywise`], so they run unchanged against our mock
//! (`CONTRACT_TARGET=mock`, the default) or paywise itself with a test-mode token
//! (`CONTRACT_TARGET=sandbox`). They never rely on fixture data: every test creates or discovers
//! what it needs, and everything it creates carries a reference from [`unique_reference`].
//!
//! What paywise documents (page shape, money, dates, field names, `href`s, filters) is asserted
//! precisely. Error bodies are not documented at all: their shapes are inferred from Django REST
//! Framework (the API is plainly DRF), so for errors the tests assert the key structure (which
//! fields fail, that each holds a list of strings, `detail` for non-field errors) and never the
//! message text, which is paywise's own wording.
//!
//! Against the vendor, the walk tests compare a list's `count` with what the walk found; other
//! tests running at the same time add records, so a walk whose `count` changed while it ran is
//! repeated (a few times at most).
//!
//! Claims are never released here, so each claim a test creates is deleted when the test ends
//! (`DELETE /v1/claims/{id}/` is allowed while it is `created`). paywise has no way to delete a
//! debtor.

use chrono::{Days, NaiveDate};
use contract_tests::{Paywise, unique_reference};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};

/// A query parameter.
type Pair<'a> = (&'a str, &'a str);

/// A well-formed UUID that names no claim or debtor.
const UNKNOWN_UUID: &str = "00000000-0000-4000-8000-000000000000";

const CLAIMS: &str = "/v1/claims/";
const DEBTORS: &str = "/v1/debtors/";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Whether `s` is a UUID in its canonical hyphenated form.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The string at `v[key]`, or a panic naming what was expected.
fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` must be a string in {v}"))
}

/// The ids of `records`, in order.
fn ids(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| text(r, "id").to_string()).collect()
}

/// A money object's value in cents, after checking paywise's format: `{"value": "12.50",
/// "currency": "EUR"}` with the value a string with exactly two decimals.
fn cents(money: &Value, at: &str) -> i64 {
    assert_eq!(money["currency"], "EUR", "{at}: currency must be EUR in {money}");
    let value = money["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{at}: value must be a decimal string in {money}"));
    let (whole, frac) = value
        .split_once('.')
        .unwrap_or_else(|| panic!("{at}: value {value:?} must have two decimals"));
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    assert!(
        frac.len() == 2
            && frac.bytes().all(|b| b.is_ascii_digit())
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit()),
        "{at}: value {value:?} must be digits with exactly two decimals"
    );
    let magnitude: i64 = format!("{digits}{frac}").parse().expect("a decimal amount fits in i64");
    if whole.starts_with('-') { -magnitude } else { magnitude }
}

/// Asserts every field of `sent` comes back unchanged in `got` (objects may gain fields such as
/// `id`; lists keep their length and order).
fn assert_echoes(sent: &Value, got: &Value, at: &str) {
    match (sent, got) {
        (Value::Object(s), Value::Object(g)) => {
            for (k, v) in s {
                let child = format!("{at}.{k}");
                let gv = g
                    .get(k)
                    .unwrap_or_else(|| panic!("{child} was sent but is missing from the response {got}"));
                assert_echoes(v, gv, &child);
            }
        }
        (Value::Array(s), Value::Array(g)) => {
            assert_eq!(s.len(), g.len(), "{at}: sent {sent}, got {got}");
            for (i, (a, b)) in s.iter().zip(g).enumerate() {
                assert_echoes(a, b, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(sent, got, "{at}: sent {sent}, got {got}"),
    }
}

/// Asserts `v` is a non-empty list of strings: DRF's messages for one field. The wording is
/// paywise's own and is not asserted.
fn assert_messages(v: &Value, at: &str) {
    let list = v
        .as_array()
        .unwrap_or_else(|| panic!("{at}: expected a list of messages, got {v}"));
    assert!(!list.is_empty(), "{at}: the list of messages is empty");
    assert!(
        list.iter().all(Value::is_string),
        "{at}: every message must be a string, got {v}"
    );
}

/// Asserts each of `fields` has a list of messages in the 400 body `body`.
fn assert_field_errors(body: &Value, fields: &[&str]) {
    assert!(body.is_object(), "a validation error must be a JSON object, got {body}");
    for f in fields {
        assert_messages(&body[*f], &format!("errors.{f} in {body}"));
    }
}

/// Asserts `body` is `{"detail": "<message>"}` (DRF's shape for non-field errors; the message
/// is paywise's wording and is not asserted).
fn assert_detail(body: &Value, at: &str) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{at}: expected {{\"detail\": ...}}, got {body}"));
    assert_eq!(obj.len(), 1, "{at}: expected only `detail`, got {body}");
    let detail = body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("{at}: `detail` must be a string in {body}"));
    assert!(!detail.is_empty(), "{at}: `detail` is empty");
}

/// Asserts `v[key]` is an ISO 8601 timestamp.
fn assert_timestamp(v: &Value, key: &str) {
    let s = text(v, key);
    assert!(
        chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "`{key}` must be an ISO 8601 timestamp, got {s:?}"
    );
}

/// Asserts `record` has an absolute `href` ending in `{path}{id}/` and a UUID `id`; the id.
fn assert_identity(record: &Value, path: &str) -> String {
    let id = text(record, "id").to_string();
    assert!(is_uuid(&id), "id must be a UUID, got {id:?}");
    let href = text(record, "href");
    let url = Url::parse(href).unwrap_or_else(|e| panic!("href {href:?} must be an absolute URL: {e}"));
    assert!(
        matches!(url.scheme(), "http" | "https"),
        "href {href:?} must be http(s)"
    );
    assert!(
        href.ends_with(&format!("{path}{id}/")),
        "href {href:?} must end with {path}{id}/"
    );
    id
}

/// POSTs `body` as JSON to `path`; the status and the JSON body.
async fn post_json(pw: &Paywise, path: &str, body: &Value) -> (StatusCode, Value) {
    let res = pw.post(path).json(body).send().await.expect("request sent");
    let status = res.status();
    let body: Value = res.json().await.expect("a JSON body");
    (status, body)
}

/// GETs `path` (absolute `url` if it starts with `http`); the status and the JSON body.
async fn get_raw(pw: &Paywise, path_or_url: &str) -> (StatusCode, Value) {
    let req = if path_or_url.starts_with("http") {
        pw.client.get(path_or_url).bearer_auth(&pw.token)
    } else {
        pw.get(path_or_url)
    };
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let body: Value = res.json().await.expect("a JSON body");
    (status, body)
}

/// The `count` of the list at `path` with `query`.
async fn total(pw: &Paywise, path: &str, query: &[(&str, &str)]) -> u64 {
    let mut q = query.to_vec();
    q.push(("limit", "1"));
    let page = pw.get_json(path, &q).await;
    page["count"].as_u64().expect("count is an integer")
}

/// The ids of every record of `path` matching `query`, after checking the walk found `count`.
async fn matching(pw: &Paywise, path: &str, query: &[(&str, &str)]) -> Vec<Value> {
    let (all, count) = pw.walk(path, 100, query).await;
    assert_eq!(
        all.len() as u64,
        count,
        "GET {path} {query:?}: walked {} of count {count}",
        all.len()
    );
    all
}

/// A consumer debtor (a person) with everything paywise documents for one.
fn person_debtor(reference: &str) -> Value {
    json!({
        "your_reference": reference,
        "acting_as": "consumer",
        "person": {"first_name": "Erika", "last_name": "Mustermann", "birth_date": "1964-08-12"},
        "addresses": [{"street": "Heidestraße 17", "zip": "51147", "city": "Köln", "country": "DE"}],
        "communication_channels": [{"type": "email", "value": "erika.mustermann@example.com"}],
        "bank_accounts": [{"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}],
    })
}

/// A business debtor (an organization).
fn organization_debtor(reference: &str) -> Value {
    json!({
        "your_reference": reference,
        "acting_as": "business",
        "organization": {"name": "Musterbau GmbH"},
        "addresses": [{"street": "Industriestraße 4", "zip": "80331", "city": "München", "country": "DE"}],
    })
}

/// Creates a debtor; panics unless 201. The response body.
async fn create_debtor(pw: &Paywise, body: &Value) -> Value {
    let (status, got) = post_json(pw, DEBTORS, body).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "POST {DEBTORS} {body} answered {status}: {got}"
    );
    got
}

/// Creates a consumer debtor with a fresh reference.
async fn new_debtor(pw: &Paywise, what: &str) -> Value {
    create_debtor(pw, &person_debtor(&unique_reference(what))).await
}

/// `days` days before the target's today.
// Tolerance: claim dates are placed relative to the target's today, so they differ between runs
// against a vendor; they are compared with what was sent, never with constants.
fn days_ago(pw: &Paywise, days: u64) -> NaiveDate {
    pw.today().checked_sub_days(Days::new(days)).expect("a date in range")
}

/// A claim for `debtor`: 120.50 main claim (sent as "120.5", echoed as "120.50"), a 5.00
/// reminder fee and a 25.00 payment already received, so the total is 100.50.
fn claim_body(pw: &Paywise, debtor: &str, reference: &str) -> Value {
    json!({
        "debtor": debtor,
        "your_reference": reference,
        "subject_matter": format!("Lieferung Gartenmöbel {reference}"),
        "document_reference": format!("RE-{reference}"),
        "occurence_date": days_ago(pw, 130).to_string(),
        "document_date": days_ago(pw, 120).to_string(),
        "due_date": days_ago(pw, 106).to_string(),
        "reminder_date": days_ago(pw, 80).to_string(),
        "delay_date": days_ago(pw, 75).to_string(),
        "main_claim_amount": {"value": "120.5", "currency": "EUR"},
        "total_claim_amount": {"value": "100.50", "currency": "EUR"},
        "additional_charges": [{"type": "reminder_fee", "your_reference": null, "subject_matter": null, "occurence_date": null, "document_date": null, "due_date": null, "amount": {"value": "5.00", "currency": "EUR"}}],
        "payments": [{
            "your_reference": format!("{reference}-payment"),
            "amount": {"value": "25.00", "currency": "EUR"},
            "value_date": days_ago(pw, 90).to_string(),
        }],
        "starting_approach": "extrajudicial",
        "claim_disputed": false,
        "obligation_fulfilled": true,
        "metadata": [{"type": "invoice:reference", "value": format!("RE-{reference}")}],
    })
}

/// The smallest valid claim body for `debtor`: paywise's file requires these fields, most of
/// them may be null.
fn minimal_claim(debtor: &str, reference: &str) -> Value {
    json!({
        "debtor": debtor,
        "your_reference": reference,
        "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null, "delay_date": null,
        "main_claim_amount": {"value": "10.00", "currency": "EUR"},
        "total_claim_amount": {"value": "10.00", "currency": "EUR"},
        "starting_approach": "extrajudicial",
        "claim_disputed": false,
        "obligation_fulfilled": true,
    })
}

/// Creates a claim, to be deleted when the test ends; panics unless 201. The response body.
async fn create_claim(pw: &Paywise, body: &Value) -> Value {
    let (status, got) = post_json(pw, CLAIMS, body).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "POST {CLAIMS} {body} answered {status}: {got}"
    );
    pw.cleanup_later(Method::DELETE, format!("{CLAIMS}{}/", text(&got, "id")), None);
    got
}

/// A new debtor and a claim with distinctive values ([`claim_body`]) for it.
async fn distinctive_claim(pw: &Paywise, what: &str) -> Value {
    let debtor = new_debtor(pw, what).await;
    let body = claim_body(pw, text(&debtor, "id"), &unique_reference(what));
    create_claim(pw, &body).await
}

/// Creates consumer debtors until the list has at least `n`.
// Tolerance: the account may already hold any number of debtors (fixtures, other tests); only a
// lower bound is needed.
async fn ensure_debtors(pw: &Paywise, n: u64) {
    for _ in total(pw, DEBTORS, &[]).await..n {
        new_debtor(pw, "filler-debtor").await;
    }
}

/// Creates claims (for one new debtor) until the list has at least `n`.
// Tolerance: as for debtors, only a lower bound on the shared account's claims is needed.
async fn ensure_claims(pw: &Paywise, n: u64) {
    let have = total(pw, CLAIMS, &[]).await;
    if have >= n {
        return;
    }
    let debtor = new_debtor(pw, "filler-claim-debtor").await;
    for _ in have..n {
        create_claim(
            pw,
            &minimal_claim(text(&debtor, "id"), &unique_reference("filler-claim")),
        )
        .await;
    }
}

/// Walks the whole list at `path` with `limit`; repeated while the list's `count` changes under
/// the walk (other clients creating records), so that `count` and the walk can be compared.
async fn stable_walk(pw: &Paywise, path: &str, limit: usize) -> (Vec<Value>, u64) {
    // Tolerance: on a shared account `count` changes while other clients create records; a walk
    // is only compared with the `count` it ran under, and repeated (five times at most) if it moved.
    for _ in 0..5 {
        let (all, count) = pw.walk(path, limit, &[]).await;
        if total(pw, path, &[]).await == count {
            return (all, count);
        }
    }
    panic!("{path}: the count kept changing during five walks");
}

/// Walks `path` with limit 3 to the end: no duplicates, no gaps, and `previous` of the second
/// page leads back to the first page.
async fn check_walk(pw: &Paywise, path: &str) {
    let (all, count) = stable_walk(pw, path, 3).await;
    let walked = ids(&all);
    let mut unique = walked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), walked.len(), "{path}: the walk returned duplicates");
    assert_eq!(
        walked.len() as u64,
        count,
        "{path}: walked {} records of count {count}",
        walked.len()
    );

    let first = pw.get_json(path, &[("limit", "3")]).await;
    assert_eq!(
        first["previous"],
        Value::Null,
        "{path}: the first page has no previous page"
    );
    let first_ids = ids(first["results"].as_array().expect("results is an array"));
    assert_eq!(first_ids.len(), 3, "{path}: the first page holds `limit` records");
    let next = text(&first, "next");
    let (status, second) = get_raw(pw, next).await;
    assert_eq!(status, StatusCode::OK, "GET {next}: {second}");
    let second_ids = ids(second["results"].as_array().expect("results is an array"));
    assert!(!second_ids.is_empty(), "{path}: the second page is empty");
    assert!(
        second_ids.iter().all(|id| !first_ids.contains(id)),
        "{path}: the second page repeats the first"
    );
    let previous = text(&second, "previous");
    let (status, back) = get_raw(pw, previous).await;
    assert_eq!(status, StatusCode::OK, "GET {previous}: {back}");
    assert_eq!(
        ids(back["results"].as_array().expect("results is an array")),
        first_ids,
        "{path}: `previous` of the second page ({previous}) must lead back to the first page"
    );
    assert_eq!(
        back["previous"],
        Value::Null,
        "{path}: back on the first page, there is no previous page"
    );
}

/// Checks a DRF limit/offset page of `path` with `limit=2` (the list has at least three records).
async fn check_page_shape(pw: &Paywise, path: &str) {
    let page = pw.get_json(path, &[("limit", "2")]).await;
    let obj = page.as_object().expect("a page is a JSON object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["count", "next", "previous", "results"],
        "{path}: page keys in {page}"
    );
    let count = page["count"].as_u64().expect("count is a non-negative integer");
    // Tolerance: the shared account holds any number of records beyond the three ensured.
    assert!(count >= 3, "{path}: count {count}, but at least three records exist");
    assert_eq!(
        page["previous"],
        Value::Null,
        "{path}: the first page has no previous page"
    );
    let results = page["results"].as_array().expect("results is an array");
    assert_eq!(results.len(), 2, "{path}: a page holds `limit` records");
    for r in results {
        assert_identity(r, path);
    }
    let next = text(&page, "next");
    let prefix = format!("{}{path}", pw.base);
    assert!(
        next.starts_with(&prefix),
        "{path}: next {next:?} must be absolute and start with {prefix}"
    );
    let url = Url::parse(next).unwrap_or_else(|e| panic!("next {next:?} must be an absolute URL: {e}"));
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        pairs.contains(&("limit".into(), "2".into())),
        "{path}: next {next} keeps limit=2"
    );
    assert!(
        pairs.contains(&("offset".into(), "2".into())),
        "{path}: next {next} asks for offset=2"
    );
}

// ---------------------------------------------------------------------------------------------
// Pages and walking
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debtor_list_is_a_limit_offset_page_with_absolute_links() {
    let pw = Paywise::connect().await;
    ensure_debtors(&pw, 3).await;
    check_page_shape(&pw, DEBTORS).await;
}

#[tokio::test]
async fn claim_list_is_a_limit_offset_page_with_absolute_links() {
    let pw = Paywise::connect().await;
    ensure_claims(&pw, 3).await;
    check_page_shape(&pw, CLAIMS).await;
}

#[tokio::test]
async fn walking_debtors_by_three_finds_each_once_and_previous_leads_back() {
    let pw = Paywise::connect().await;
    ensure_debtors(&pw, 4).await;
    check_walk(&pw, DEBTORS).await;
}

#[tokio::test]
async fn walking_claims_by_three_finds_each_once_and_previous_leads_back() {
    let pw = Paywise::connect().await;
    ensure_claims(&pw, 4).await;
    check_walk(&pw, CLAIMS).await;
}

#[tokio::test]
async fn walking_a_filtered_claim_list_keeps_the_filter_in_next_links() {
    let pw = Paywise::connect().await;
    let debtor = new_debtor(&pw, "filtered-walk").await;
    // Spaces, umlauts and `&` must survive the encoding of the `next` links.
    let subject = format!("Gartenmöbel & Zubehör {}", unique_reference("filtered-walk"));
    let mut created = Vec::new();
    for _ in 0..4 {
        let mut body = minimal_claim(text(&debtor, "id"), &unique_reference("filtered-walk"));
        body["subject_matter"] = json!(subject);
        created.push(text(&create_claim(&pw, &body).await, "id").to_string());
    }
    let first = pw
        .get_json(CLAIMS, &[("subject_matter", &subject), ("limit", "3")])
        .await;
    let next = text(&first, "next");
    let url = Url::parse(next).unwrap_or_else(|e| panic!("next {next:?} must be an absolute URL: {e}"));
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "subject_matter" && v == subject.as_str()),
        "next {next} must keep the subject_matter filter"
    );
    let (all, count) = pw.walk(CLAIMS, 3, &[("subject_matter", &subject)]).await;
    assert_eq!(count, 4, "count of the filtered list");
    let mut walked = ids(&all);
    walked.sort();
    created.sort();
    assert_eq!(walked, created, "the filtered walk returns exactly the four claims");
}

// ---------------------------------------------------------------------------------------------
// Debtors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_debtor_echoes_it_and_it_reads_back_by_id() {
    let pw = Paywise::connect().await;
    let sent = person_debtor(&unique_reference("debtor-create"));
    let created = create_debtor(&pw, &sent).await;
    assert_echoes(&sent, &created, "debtor");
    // Tolerance: the id and timestamps are the target's; checked by format, then read back.
    let id = assert_identity(&created, DEBTORS);
    assert_timestamp(&created, "created");
    assert_timestamp(&created, "updated");
    let read = pw.get_json(&format!("{DEBTORS}{id}/"), &[]).await;
    assert_eq!(read, created, "GET {DEBTORS}{id}/ returns the debtor as created");
}

#[tokio::test]
async fn creating_an_organization_debtor_echoes_it() {
    let pw = Paywise::connect().await;
    let sent = organization_debtor(&unique_reference("debtor-org"));
    let created = create_debtor(&pw, &sent).await;
    assert_echoes(&sent, &created, "debtor");
    let id = assert_identity(&created, DEBTORS);
    let read = pw.get_json(&format!("{DEBTORS}{id}/"), &[]).await;
    assert_eq!(read, created);
}

#[tokio::test]
async fn debtor_lookup_by_your_reference_with_limit_one_finds_exactly_the_created_debtor() {
    let pw = Paywise::connect().await;
    let reference = unique_reference("debtor-dedup");
    let created = create_debtor(&pw, &person_debtor(&reference)).await;
    // The de-duplication pattern integrations use: `?your_reference=X&limit=1`.
    let page = pw
        .get_json(DEBTORS, &[("your_reference", &reference), ("limit", "1")])
        .await;
    assert_eq!(page["count"], 1, "one debtor has this reference: {page}");
    assert_eq!(page["next"], Value::Null);
    assert_eq!(
        page["results"],
        json!([created]),
        "the page holds the debtor as created"
    );
    let none = pw
        .get_json(
            DEBTORS,
            &[("your_reference", &format!("{reference}-other")), ("limit", "1")],
        )
        .await;
    assert_eq!(none["count"], 0, "no debtor has the other reference: {none}");
    assert_eq!(none["results"], json!([]));
}

#[tokio::test]
async fn debtors_filter_by_acting_as() {
    let pw = Paywise::connect().await;
    let reference = unique_reference("debtor-acting-as");
    let business = create_debtor(&pw, &organization_debtor(&reference)).await;
    let id = text(&business, "id");
    let hit = matching(
        &pw,
        DEBTORS,
        &[("acting_as", "business"), ("your_reference", &reference)],
    )
    .await;
    assert_eq!(ids(&hit), [id], "acting_as=business finds the business debtor");
    let miss = matching(
        &pw,
        DEBTORS,
        &[("acting_as", "consumer"), ("your_reference", &reference)],
    )
    .await;
    assert!(
        miss.is_empty(),
        "acting_as=consumer must not find a business debtor: {miss:?}"
    );

    let consumer_ref = unique_reference("debtor-acting-as-consumer");
    let consumer = create_debtor(&pw, &person_debtor(&consumer_ref)).await;
    let hit = matching(
        &pw,
        DEBTORS,
        &[("acting_as", "consumer"), ("your_reference", &consumer_ref)],
    )
    .await;
    assert_eq!(
        ids(&hit),
        [text(&consumer, "id")],
        "acting_as=consumer finds the consumer debtor"
    );
    let miss = matching(
        &pw,
        DEBTORS,
        &[("acting_as", "business"), ("your_reference", &consumer_ref)],
    )
    .await;
    assert!(
        miss.is_empty(),
        "acting_as=business must not find a consumer debtor: {miss:?}"
    );
}

#[tokio::test]
async fn debtors_filter_by_id() {
    let pw = Paywise::connect().await;
    ensure_debtors(&pw, 2).await;
    let created = new_debtor(&pw, "debtor-id-filter").await;
    let id = text(&created, "id");
    let hit = matching(&pw, DEBTORS, &[("id", id)]).await;
    assert_eq!(hit, std::slice::from_ref(&created), "id={id} finds exactly that debtor");
    let miss = matching(&pw, DEBTORS, &[("id", UNKNOWN_UUID)]).await;
    assert!(miss.is_empty(), "id={UNKNOWN_UUID} finds nothing: {miss:?}");
}

#[tokio::test]
async fn debtor_id_filter_that_is_not_a_uuid_is_a_400_on_id() {
    let pw = Paywise::connect().await;
    let (status, body) = get_raw(&pw, &format!("{DEBTORS}?id=not-a-uuid")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_errors(&body, &["id"]);
}

// Validation errors. paywise documents no error body; the shapes below are DRF's (field -> list
// of messages, nested objects nest, list items give a list with `{}` for valid items,
// cross-field rules under `non_field_errors`). Messages are not asserted.

/// POSTs an invalid debtor; asserts 400 and that nothing was created under its reference.
async fn refused_debtor(pw: &Paywise, body: &Value) -> Value {
    let (status, errors) = post_json(pw, DEBTORS, body).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "POST {DEBTORS} {body} answered {status}: {errors}"
    );
    if let Some(reference) = body["your_reference"].as_str() {
        assert_eq!(
            total(pw, DEBTORS, &[("your_reference", reference)]).await,
            0,
            "a refused debtor was stored"
        );
    }
    errors
}

#[tokio::test]
async fn debtor_with_empty_body_needs_acting_as_and_addresses() {
    let pw = Paywise::connect().await;
    let errors = refused_debtor(&pw, &json!({})).await;
    assert_field_errors(&errors, &["acting_as", "addresses"]);
}

#[tokio::test]
async fn debtor_with_an_unknown_country_is_refused_on_the_address() {
    let pw = Paywise::connect().await;
    let mut body = person_debtor(&unique_reference("debtor-bad-country"));
    body["addresses"][0]["country"] = json!("XX");
    let errors = refused_debtor(&pw, &body).await;
    let addresses = errors["addresses"]
        .as_array()
        .unwrap_or_else(|| panic!("addresses errors must be a list (one entry per address): {errors}"));
    assert_eq!(addresses.len(), 1, "one entry per address sent: {errors}");
    assert_messages(&addresses[0]["country"], "errors.addresses[0].country");
}

#[tokio::test]
async fn debtor_address_without_zip_gives_a_nested_list_error() {
    let pw = Paywise::connect().await;
    let mut body = person_debtor(&unique_reference("debtor-no-zip"));
    let mut second = body["addresses"][0].clone();
    if let Some(a) = second.as_object_mut() {
        a.remove("zip");
    }
    body["addresses"]
        .as_array_mut()
        .expect("addresses is a list")
        .push(second);
    let errors = refused_debtor(&pw, &body).await;
    let addresses = errors["addresses"]
        .as_array()
        .unwrap_or_else(|| panic!("addresses errors must be a list (one entry per address): {errors}"));
    assert_eq!(addresses.len(), 2, "one entry per address sent: {errors}");
    assert_eq!(addresses[0], json!({}), "the valid address has no errors: {errors}");
    let bad = addresses[1].as_object().expect("the address error is an object");
    assert_eq!(bad.keys().collect::<Vec<_>>(), ["zip"], "only zip is wrong: {errors}");
    assert_messages(&addresses[1]["zip"], "errors.addresses[1].zip");
}

#[tokio::test]
async fn debtor_without_person_or_organization_is_a_non_field_error() {
    let pw = Paywise::connect().await;
    let mut body = person_debtor(&unique_reference("debtor-nobody"));
    if let Some(b) = body.as_object_mut() {
        b.remove("person");
    }
    let errors = refused_debtor(&pw, &body).await;
    assert_field_errors(&errors, &["non_field_errors"]);
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_claim_echoes_it_in_state_created_and_it_reads_back_by_id() {
    let pw = Paywise::connect().await;
    let debtor = new_debtor(&pw, "claim-create").await;
    let debtor_id = text(&debtor, "id");
    let sent = claim_body(&pw, debtor_id, &unique_reference("claim-create"));
    let created = create_claim(&pw, &sent).await;

    // "120.5" goes in; money comes back with exactly two decimals.
    let mut expected = sent.clone();
    expected["main_claim_amount"]["value"] = json!("120.50");
    assert_echoes(&expected, &created, "claim");
    // Tolerance: ids and the `created`/`updated` timestamps are the target's; they are checked by
    // format and read back, never compared with constants.
    let id = assert_identity(&created, CLAIMS);
    assert_eq!(created["submission_state"], "created", "a new claim is `created`");
    assert_eq!(created["debtor"], debtor_id);
    assert_eq!(
        created["mandate"],
        Value::Null,
        "no mandate before paywise accepts the claim"
    );
    assert_timestamp(&created, "created");
    assert_timestamp(&created, "updated");

    let main = cents(&created["main_claim_amount"], "main_claim_amount");
    let total = cents(&created["total_claim_amount"], "total_claim_amount");
    let charges = created["additional_charges"]
        .as_array()
        .expect("additional_charges is a list");
    let payments = created["payments"].as_array().expect("payments is a list");
    let charged: i64 = charges.iter().map(|c| cents(&c["amount"], "additional charge")).sum();
    let paid: i64 = payments.iter().map(|p| cents(&p["amount"], "payment")).sum();
    assert_eq!(
        (main, charged, paid, total),
        (12_050, 500, 2_500, 10_050),
        "main, charges, payments, total in cents"
    );
    assert_eq!(
        total,
        main + charged - paid,
        "total = main + additional charges - payments"
    );
    assert_eq!(
        cents(&created["additional_charges_amount"], "additional_charges_amount"),
        charged
    );

    let read = pw.get_json(&format!("{CLAIMS}{id}/"), &[]).await;
    assert_eq!(read, created, "GET {CLAIMS}{id}/ returns the claim as created");
}

#[tokio::test]
async fn creating_a_minimal_claim_needs_only_the_required_fields() {
    let pw = Paywise::connect().await;
    let debtor = new_debtor(&pw, "claim-minimal").await;
    let sent = minimal_claim(text(&debtor, "id"), &unique_reference("claim-minimal"));
    let created = create_claim(&pw, &sent).await;
    assert_echoes(&sent, &created, "claim");
    assert_eq!(created["submission_state"], "created");
    let id = assert_identity(&created, CLAIMS);
    let read = pw.get_json(&format!("{CLAIMS}{id}/"), &[]).await;
    assert_eq!(read, created);
}

/// A filter value that differs from `value` of claim field `field`.
fn other_value(field: &str, value: &str) -> String {
    match field {
        "due_date" | "delay_date" | "reminder_date" => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .unwrap_or_else(|e| panic!("{field} {value:?} must be YYYY-MM-DD: {e}"))
            .checked_add_days(Days::new(1))
            .expect("a date in range")
            .to_string(),
        "id" => UNKNOWN_UUID.into(),
        "starting_approach" => if value == "judicial" {
            "extrajudicial"
        } else {
            "judicial"
        }
        .into(),
        "claim_disputed" | "obligation_fulfilled" => if value == "true" { "false" } else { "true" }.into(),
        "submission_state" => "released".into(),
        _ => format!("{value}-other"),
    }
}

/// Creates a distinctive claim and checks that the claim filter `field` finds it with its own
/// value and does not find it with another value (narrowed to the claim by `your_reference`, so
/// other claims do not matter). With `alone`, the filter also runs by itself: every result has
/// the value, and the claim is among them.
async fn check_claim_filter(field: &str, alone: bool) {
    let pw = Paywise::connect().await;
    let claim = distinctive_claim(&pw, &format!("filter-{field}")).await;
    let id = text(&claim, "id");
    let reference = text(&claim, "your_reference");
    let value = match &claim[field] {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => panic!("claim field {field} must be a string or boolean, got {other}"),
    };
    let other = other_value(field, &value);

    let (hit_query, miss_query): (Vec<Pair<'_>>, Vec<Pair<'_>>) = if field == "your_reference" {
        (vec![(field, &value)], vec![(field, &other)])
    } else {
        (
            vec![(field, &value), ("your_reference", reference)],
            vec![(field, &other), ("your_reference", reference)],
        )
    };
    let hit = matching(&pw, CLAIMS, &hit_query).await;
    assert_eq!(ids(&hit), [id], "{field}={value} (with your_reference) finds the claim");
    let miss = matching(&pw, CLAIMS, &miss_query).await;
    assert!(
        miss.is_empty(),
        "{field}={other} must not find the claim with {field}={value}: {miss:?}"
    );

    if alone {
        // Tolerance: other claims of the account may share the value, so the filter alone must
        // hold this claim and only claims with the value, not a known set.
        let found = matching(&pw, CLAIMS, &[(field, &value)]).await;
        assert!(
            ids(&found).iter().any(|i| i == id),
            "{field}={value} alone finds the claim"
        );
        for c in &found {
            assert_eq!(
                c[field], claim[field],
                "{field}={value} returned a claim with another {field}"
            );
        }
    }
}

#[tokio::test]
async fn claims_filter_by_your_reference() {
    check_claim_filter("your_reference", false).await;
}

#[tokio::test]
async fn claims_filter_by_document_reference() {
    check_claim_filter("document_reference", true).await;
}

#[tokio::test]
async fn claims_filter_by_subject_matter() {
    check_claim_filter("subject_matter", true).await;
}

#[tokio::test]
async fn claims_filter_by_id() {
    check_claim_filter("id", true).await;
}

#[tokio::test]
async fn claims_filter_by_due_date() {
    check_claim_filter("due_date", true).await;
}

#[tokio::test]
async fn claims_filter_by_delay_date() {
    check_claim_filter("delay_date", true).await;
}

#[tokio::test]
async fn claims_filter_by_reminder_date() {
    check_claim_filter("reminder_date", true).await;
}

#[tokio::test]
async fn claims_filter_by_starting_approach() {
    check_claim_filter("starting_approach", false).await;
}

#[tokio::test]
async fn claims_filter_by_claim_disputed() {
    check_claim_filter("claim_disputed", false).await;
}

#[tokio::test]
async fn claims_filter_by_obligation_fulfilled() {
    check_claim_filter("obligation_fulfilled", false).await;
}

#[tokio::test]
async fn claims_filter_by_submission_state() {
    // `submission_state=created&your_reference=X` finds the new claim,
    // `submission_state=released&your_reference=X` does not.
    check_claim_filter("submission_state", false).await;
}

#[tokio::test]
async fn invalid_claim_filter_values_are_a_400_on_the_filter() {
    let pw = Paywise::connect().await;
    for (query, field) in [
        ("submission_state=bogus", "submission_state"),
        ("due_date=notadate", "due_date"),
        ("id=not-a-uuid", "id"),
    ] {
        let (status, body) = get_raw(&pw, &format!("{CLAIMS}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "GET {CLAIMS}?{query}: {body}");
        assert_field_errors(&body, &[field]);
    }
}

/// POSTs an invalid claim; asserts 400 and that nothing was created under its reference.
async fn refused_claim(pw: &Paywise, body: &Value) -> Value {
    let (status, errors) = post_json(pw, CLAIMS, body).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "POST {CLAIMS} {body} answered {status}: {errors}"
    );
    if let Some(reference) = body["your_reference"].as_str() {
        assert_eq!(
            total(pw, CLAIMS, &[("your_reference", reference)]).await,
            0,
            "a refused claim was stored"
        );
    }
    errors
}

#[tokio::test]
async fn claim_with_empty_body_needs_the_required_fields() {
    let pw = Paywise::connect().await;
    let errors = refused_claim(&pw, &json!({"your_reference": unique_reference("claim-empty")})).await;
    // debtor, main_claim_amount and total_claim_amount are marked required in paywise's docs; the
    // other three are required by every known client (SDK, integrations) and by our mock.
    assert_field_errors(
        &errors,
        &[
            "debtor",
            "main_claim_amount",
            "total_claim_amount",
            "starting_approach",
            "claim_disputed",
            "obligation_fulfilled",
        ],
    );
}

#[tokio::test]
async fn claim_for_an_unknown_debtor_is_refused_on_debtor() {
    let pw = Paywise::connect().await;
    let body = minimal_claim(UNKNOWN_UUID, &unique_reference("claim-unknown-debtor"));
    let errors = refused_claim(&pw, &body).await;
    assert_field_errors(&errors, &["debtor"]);
}

#[tokio::test]
async fn claim_whose_total_does_not_add_up_is_refused_on_total_claim_amount() {
    let pw = Paywise::connect().await;
    let debtor = new_debtor(&pw, "claim-bad-total").await;
    let mut body = minimal_claim(text(&debtor, "id"), &unique_reference("claim-bad-total"));
    body["main_claim_amount"] = json!({"value": "100.00", "currency": "EUR"});
    body["total_claim_amount"] = json!({"value": "90.00", "currency": "EUR"});
    let errors = refused_claim(&pw, &body).await;
    assert_field_errors(&errors, &["total_claim_amount"]);
}

#[tokio::test]
async fn claim_amount_with_three_decimals_is_refused_on_the_money_value() {
    let pw = Paywise::connect().await;
    let debtor = new_debtor(&pw, "claim-3-decimals").await;
    let mut body = minimal_claim(text(&debtor, "id"), &unique_reference("claim-3-decimals"));
    body["main_claim_amount"] = json!({"value": "10.005", "currency": "EUR"});
    body["total_claim_amount"] = json!({"value": "10.01", "currency": "EUR"});
    let errors = refused_claim(&pw, &body).await;
    assert!(
        errors["main_claim_amount"].is_object(),
        "the money error nests under its field: {errors}"
    );
    assert_messages(&errors["main_claim_amount"]["value"], "errors.main_claim_amount.value");
}

// ---------------------------------------------------------------------------------------------
// Protocol: malformed bodies, auth, unknown ids, trailing slashes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_a_400_with_detail() {
    let pw = Paywise::connect().await;
    for path in [DEBTORS, CLAIMS] {
        let res = pw
            .post(path)
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"acting_as": "consumer","#)
            .send()
            .await
            .expect("request sent");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        assert_eq!(status, StatusCode::BAD_REQUEST, "POST {path} with broken JSON: {body}");
        assert_detail(&body, &format!("POST {path} with broken JSON"));
    }
}

#[tokio::test]
async fn request_without_token_is_a_401_with_detail() {
    let pw = Paywise::connect().await;
    for path in [CLAIMS, DEBTORS] {
        let res = pw.client.get(pw.url(path)).send().await.expect("request sent");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        assert_eq!(status, StatusCode::UNAUTHORIZED, "GET {path} without a token: {body}");
        assert_detail(&body, &format!("GET {path} without a token"));
    }
    // Authentication comes before validation.
    let res = pw
        .client
        .post(pw.url(DEBTORS))
        .json(&json!({}))
        .send()
        .await
        .expect("request sent");
    let status = res.status();
    let body: Value = res.json().await.expect("a JSON body");
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "POST {DEBTORS} without a token: {body}"
    );
    assert_detail(&body, "POST without a token");
}

#[tokio::test]
async fn request_with_a_wrong_token_is_a_401_with_detail() {
    let pw = Paywise::connect().await;
    for path in [CLAIMS, DEBTORS] {
        let res = pw
            .client
            .get(pw.url(path))
            .bearer_auth("contract-test-not-a-paywise-token")
            .send()
            .await
            .expect("request sent");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "GET {path} with a wrong token: {body}"
        );
        assert_detail(&body, &format!("GET {path} with a wrong token"));
    }
}

#[tokio::test]
async fn unknown_claim_and_debtor_ids_are_a_404_with_detail() {
    let pw = Paywise::connect().await;
    for path in [
        format!("{CLAIMS}{UNKNOWN_UUID}/"),
        format!("{DEBTORS}{UNKNOWN_UUID}/"),
        format!("{CLAIMS}not-a-uuid/"),
        format!("{DEBTORS}not-a-uuid/"),
    ] {
        let (status, body) = get_raw(&pw, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}: {body}");
        assert_detail(&body, &format!("GET {path}"));
    }
}

#[tokio::test]
async fn path_without_trailing_slash_redirects_permanently_to_the_slashed_path() {
    let pw = Paywise::connect().await;
    for (path, want) in [
        ("/v1/claims".to_string(), "/v1/claims/".to_string()),
        ("/v1/debtors".to_string(), "/v1/debtors/".to_string()),
        (
            format!("/v1/claims/{UNKNOWN_UUID}"),
            format!("/v1/claims/{UNKNOWN_UUID}/"),
        ),
        (
            format!("/v1/debtors/{UNKNOWN_UUID}"),
            format!("/v1/debtors/{UNKNOWN_UUID}/"),
        ),
        ("/v1/debtors?limit=1".to_string(), "/v1/debtors/?limit=1".to_string()),
    ] {
        let res = pw.get(&path).send().await.expect("request sent");
        assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY, "GET {path}");
        let location = res
            .headers()
            .get(LOCATION)
            .unwrap_or_else(|| panic!("GET {path}: a redirect needs a Location"))
            .to_str()
            .expect("an ASCII Location");
        // Django sends the path (with the query); a proxy may make it absolute.
        assert!(
            location.ends_with(&want),
            "GET {path}: Location {location:?} must end with {want:?}"
        );
    }
}
