//! Contract tests for Payt's parties: administrations (show, create), companies, contacts, debtors
//! and sign-up.
//!
//! HTTP only, public API only: every test creates the debtors and contacts it needs (tagged with
//! [`unique_reference`]) or discovers them through the API, so they run unchanged against the mock
//! (default) or Payt's demo environment (`CONTRACT_TARGET=sandbox`). Companies and sign-up use HTTP
//! Basic authentication with the application's client credentials: `PAYT_CLIENT_ID` and
//! `PAYT_CLIENT_SECRET` (required for `sandbox`; the mock's defaults otherwise).
//!
//! Creating an administration and signing up a company leave records behind that no API call can
//! remove, so against a vendor those tests run only with `CONTRACT_ALLOW_PERMANENT_WRITES=1`
//! (`Payt::permanent_writes`); the reads of administrations run regardless. Debtors and contacts
//! cannot be deleted either, but creating them in the test administration is what Payt's demo is
//! for: their numbers, identifiers and names carry `unique_reference`.
//!
//! Error `code`/`message` texts for 400, 404, 405 and 422 and the per-record codes of the bulk
//! results are the mock's own (`reference/payt.md` sections 5 and 6), so only the status and their
//! types are asserted; `forbidden` and `Missing permission: ...` are documented by Payt.

use std::env;

use contract_tests::RequestBuilder;
use contract_tests::{Payt, REFERENCE_PREFIX, Target, target, unique_reference};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DEBTORS: &str = "/v1/debtors";
const CONTACTS: &str = "/v1/contacts";
const ADMINISTRATIONS: &str = "/v1/administrations";
const UNLIKELY_ADMINISTRATION: &str = "999999999";

/// A debtor label the tests set, recognisable as theirs. Labels are named, not created per record,
/// so the names are fixed (with the prefix) rather than unique per run: the demo administration
/// keeps three such labels instead of three more per run.
fn label(which: &str) -> String {
    format!("{REFERENCE_PREFIX}label-{which}")
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn send(rb: RequestBuilder) -> (StatusCode, Value) {
    let res = rb.send().await.expect("request sent");
    let status = res.status();
    let text = res.text().await.expect("a readable body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("the body is not JSON ({e}): {text}"))
    };
    (status, body)
}

/// Asserts `status` and Payt's error entity.
fn assert_error(status: StatusCode, body: &Value, expected: u16, ctx: &str) {
    assert_eq!(status.as_u16(), expected, "{ctx}: {body}");
    assert!(body["code"].is_string(), "{ctx}: error code must be a string: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{ctx}: error message must be a non-empty string: {body}"
    );
}

/// Asserts a `CustomerApi_SuccessEntity`.
fn assert_success_entity(body: &Value, ctx: &str) {
    assert!(body["success"].is_boolean(), "{ctx}: success must be a boolean: {body}");
    assert!(body["count"].is_u64(), "{ctx}: count must be an integer: {body}");
    let errors = body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: errors must be an object: {body}"));
    for (key, messages) in errors.iter().chain(body["warnings"].as_object().into_iter().flatten()) {
        let ok = messages.as_array().is_some_and(|m| m.iter().all(Value::is_string));
        assert!(ok, "{ctx}: errors/warnings of {key} must be a list of strings: {body}");
    }
}

fn id_of(v: &Value) -> String {
    match &v["id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("record without an id: {other} in {v}"),
    }
}

fn ids(records: &[Value]) -> Vec<String> {
    records.iter().map(id_of).collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} must be a string in {v}"))
}

fn fields(only: Value) -> String {
    json!({ "only": only }).to_string()
}

/// The application's client credentials for the Basic-auth routes.
fn client_credentials() -> (String, String) {
    let get = |name: &str| env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (get("PAYT_CLIENT_ID"), get("PAYT_CLIENT_SECRET")) {
        (Some(id), Some(secret)) => (id, secret),
        _ if target() == Target::Mock => (
            mock_payt::resources::companies::CLIENT_ID.to_string(),
            mock_payt::resources::companies::CLIENT_SECRET.to_string(),
        ),
        _ => panic!(
            "contract target `sandbox` needs PAYT_CLIENT_ID and PAYT_CLIENT_SECRET (the application's \
             client credentials for HTTP Basic); set them, or run with CONTRACT_TARGET=mock"
        ),
    }
}

/// Upserts `records` in the test administration; the bulk result.
async fn upsert(payt: &Payt, path: &str, key: &str, records: Value) -> Value {
    let (status, body) = send(
        payt.post(path)
            .json(&json!({"administration_id": payt.administration_id, key: records})),
    )
    .await;
    assert_eq!(status, 201, "POST {path}: {body}");
    body
}

/// Creates `n` debtors tagged with a unique reference; their numbers and identifiers.
async fn create_debtors(payt: &Payt, n: usize, extra: Value) -> Vec<(String, String)> {
    let base = unique_reference("debtor");
    let made: Vec<(String, String)> = (0..n)
        .map(|i| (format!("{base}-{i}"), format!("{base}-id-{i}")))
        .collect();
    let records: Vec<Value> = made
        .iter()
        .map(|(number, identifier)| {
            let mut r = json!({"debtor_number": number, "name": format!("Contract Test {number}"),
                               "debtor_identifier": identifier});
            if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
                r.extend(extra.clone());
            }
            r
        })
        .collect();
    let out = upsert(payt, DEBTORS, "debtors", json!(records)).await;
    assert_success_entity(&out, "POST /v1/debtors");
    assert_eq!(out["count"], n, "every new debtor is processed: {out}");
    assert_eq!(out["errors"], json!({}), "{out}");
    made
}

async fn debtor_by(payt: &Payt, key: &str, identifier_type: &str, only: Option<Value>) -> (StatusCode, Value) {
    let mut q: Vec<(&str, String)> = vec![("administration_id", payt.administration_id.clone())];
    if !identifier_type.is_empty() {
        q.push(("identifier_type", identifier_type.to_string()));
    }
    if let Some(only) = only {
        q.push(("fields", fields(only)));
    }
    send(payt.get(&format!("{DEBTORS}/{key}")).query(&q)).await
}

// ---------------------------------------------------------------------------------------------
// Debtors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debtors_page_to_the_end_and_every_filter_works() {
    let payt = Payt::connect().await;
    let made = create_debtors(&payt, 3, json!({})).await;
    let all = payt.walk(DEBTORS, 7, &[]).await;
    let all_ids = ids(&all);
    let mut sorted: Vec<u64> = all_ids.iter().map(|i| i.parse().expect("decimal ids")).collect();
    let before = sorted.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(before, sorted, "debtors come in ascending id order, each once");
    // Tolerance: debtors of other tests and runs have values we cannot know: type and shape only.
    for d in &all {
        for key in [
            "debtor_number",
            "name",
            "debtor_identifier",
            "administration_id",
            "id",
            "updated_at",
        ] {
            assert!(d[key].is_string(), "debtor {key} must be a string: {d}");
        }
        assert!(d["postal_address"].is_object(), "postal_address: {d}");
        assert!(
            d.get("labels").is_none() && d.get("public_url").is_none(),
            "opt-in shown: {d}"
        );
    }
    let ours: Vec<&Value> = made
        .iter()
        .map(|(n, _)| {
            all.iter()
                .find(|d| d["debtor_number"] == n.as_str())
                .unwrap_or_else(|| panic!("the created debtor {n} is not listed"))
        })
        .collect();

    // ids, debtor_numbers, debtor_identifiers.
    // Tolerance: ids are the target's to choose: the expected ones are read back from the walk.
    let wanted = format!("{},{}", id_of(ours[0]), id_of(ours[2]));
    let got = payt.walk(DEBTORS, 100, &[("ids", &wanted)]).await;
    assert_eq!(ids(&got), [id_of(ours[0]), id_of(ours[2])]);
    let numbers = format!("{},{}", made[1].0, made[2].0);
    let got = payt.walk(DEBTORS, 100, &[("debtor_numbers", &numbers)]).await;
    assert_eq!(ids(&got), [id_of(ours[1]), id_of(ours[2])]);
    let got = payt.walk(DEBTORS, 100, &[("debtor_identifiers", &made[0].1)]).await;
    assert_eq!(ids(&got), [id_of(ours[0])]);
    // updated_after is strict.
    let stamp = str_of(ours[0], "updated_at");
    let got = payt.walk(DEBTORS, 500, &[("updated_after", stamp)]).await;
    assert!(
        got.iter().all(|d| str_of(d, "updated_at") > stamp),
        "updated_after is strictly after"
    );
    let got_ids = ids(&got);
    assert!(
        !got_ids.contains(&id_of(ours[0])),
        "the debtor whose updated_at was given is excluded (strictly after)"
    );
    // The answer may hold debtors the earlier walk saw older or not at all (each strictly after the stamp, checked
    // above); every debtor of the walk updated strictly after it must be in it (updated_at only grows).
    // Tolerance: other tests create and update debtors meanwhile: no exact equality with the earlier walk.
    for d in all.iter().filter(|d| str_of(d, "updated_at") > stamp) {
        assert!(
            got_ids.contains(&id_of(d)),
            "updated_after={stamp}: debtor {} (updated_at {}) is missing",
            id_of(d),
            str_of(d, "updated_at")
        );
    }
    let mut ascending: Vec<u64> = got_ids.iter().map(|i| i.parse().expect("decimal ids")).collect();
    let as_given = ascending.clone();
    ascending.sort_unstable();
    assert_eq!(as_given, ascending, "updated_after={stamp}: ascending ids");

    // Show: by internal id, by number, by identifier; all the same record.
    let (status, by_id) = debtor_by(&payt, &id_of(ours[0]), "", None).await;
    assert_eq!(status, 200, "{by_id}");
    assert_eq!(&by_id, ours[0]);
    let (_, by_number) = debtor_by(&payt, &made[0].0, "debtor_number", None).await;
    let (_, by_identifier) = debtor_by(&payt, &made[0].1, "debtor_identifier", None).await;
    assert_eq!(by_number, by_id);
    assert_eq!(by_identifier, by_id);
    // Projection with opt-in fields.
    let (status, projected) = debtor_by(
        &payt,
        &made[0].0,
        "debtor_number",
        Some(json!(["id", "labels", "book_open_amount", {"postal_address": ["country_code"]}])),
    )
    .await;
    assert_eq!(status, 200);
    let mut keys: Vec<&String> = projected.as_object().expect("an object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["book_open_amount", "id", "labels", "postal_address"]);
    assert_eq!(projected["book_open_amount"], "0.00", "a new debtor owes nothing");

    // Errors.
    let (status, body) = debtor_by(&payt, &id_of(ours[0]), "nonsense", None).await;
    assert_error(status, &body, 400, "identifier_type=nonsense");
    let missing = unique_reference("missing-debtor");
    let (status, body) = debtor_by(&payt, &missing, "debtor_number", None).await;
    assert_error(status, &body, 404, "unknown debtor_number");
    let (status, body) = send(payt.get(DEBTORS)).await;
    assert_error(status, &body, 400, "GET /v1/debtors without administration_id");
    for (param, value) in [
        ("per_page", "0"),
        ("per_page", "501"),
        ("updated_after", "soon"),
        ("fields", "{"),
    ] {
        let (status, body) = send(
            payt.get(DEBTORS)
                .query(&[("administration_id", payt.administration_id.as_str()), (param, value)]),
        )
        .await;
        assert_error(status, &body, 400, &format!("{param}={value}"));
    }
    let (status, body) = send(
        payt.get(DEBTORS)
            .query(&[("administration_id", UNLIKELY_ADMINISTRATION)]),
    )
    .await;
    assert_error(status, &body, 403, "an administration the token was not granted");
    let (status, body) = send(payt.put(DEBTORS)).await;
    assert_error(status, &body, 405, "PUT /v1/debtors");
}

#[tokio::test]
async fn debtor_upsert_matches_existing_records_and_reports_each_record() {
    let payt = Payt::connect().await;
    let made = create_debtors(
        &payt,
        1,
        json!({"labels": [label("a"), label("b")], "language_code": "nl"}),
    )
    .await;
    let (number, identifier) = &made[0];
    let only = json!(["id", "name", "debtor_number", "labels", "updated_at", "language_code"]);
    let (_, created) = debtor_by(&payt, number, "debtor_number", Some(only.clone())).await;
    let mut labels: Vec<&str> = created["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| str_of(l, "name"))
        .collect();
    labels.sort_unstable();
    assert_eq!(labels, [label("a"), label("b")]);

    // Re-posting the identifier with another name updates the same debtor; labels omitted stay.
    let renamed_name = format!("Contract Test Renamed {number}");
    let out = upsert(
        &payt,
        DEBTORS,
        "debtors",
        json!([{"debtor_number": number, "name": renamed_name, "debtor_identifier": identifier}]),
    )
    .await;
    assert_eq!((out["success"].clone(), out["count"].clone()), (json!(true), json!(1)));
    let (_, renamed) = debtor_by(&payt, identifier, "debtor_identifier", Some(only.clone())).await;
    assert_eq!(id_of(&renamed), id_of(&created));
    assert_eq!(renamed["name"], renamed_name.as_str());
    assert_eq!(
        renamed["labels"].as_array().map(Vec::len),
        Some(2),
        "labels omitted: unchanged"
    );
    // Tolerance: timestamps have whole seconds, so the update may share the creation's second.
    assert!(str_of(&renamed, "updated_at") >= str_of(&created, "updated_at"));

    // Labels given replace them all; a form body works too.
    let (status, out) = send(payt.post(DEBTORS).form(&[
        ("administration_id", payt.administration_id.as_str()),
        ("debtors[][debtor_number]", number.as_str()),
        ("debtors[][name]", renamed_name.as_str()),
        ("debtors[][debtor_identifier]", identifier.as_str()),
        ("debtors[][labels][]", label("c").as_str()),
    ]))
    .await;
    assert_eq!(status, 201, "{out}");
    assert_success_entity(&out, "form upsert");
    let (_, relabelled) = debtor_by(&payt, number, "debtor_number", Some(only)).await;
    assert_eq!(relabelled["labels"], json!([{"name": label("c")}]));

    // A record without a name is refused on its own, keyed by its debtor number.
    let broken = unique_reference("broken-debtor");
    let fine = unique_reference("fine-debtor");
    let out = upsert(
        &payt,
        DEBTORS,
        "debtors",
        json!([
            {"debtor_number": broken, "debtor_identifier": format!("{broken}-id")},
            {"debtor_number": fine, "name": format!("Contract Test {fine}"), "debtor_identifier": format!("{fine}-id")}
        ]),
    )
    .await;
    assert_success_entity(&out, "partial failure");
    assert_eq!(
        (out["success"].clone(), out["count"].clone()),
        (json!(true), json!(1)),
        "{out}"
    );
    assert!(
        out["errors"].get(&broken).is_some(),
        "errors keyed by the debtor number: {out}"
    );
    let (status, _) = debtor_by(&payt, &broken, "debtor_number", None).await;
    assert_eq!(status, 404, "the refused record was not created");
    let (status, _) = debtor_by(&payt, &fine, "debtor_number", None).await;
    assert_eq!(status, 200);

    // Whole-request problems: 422, scopes and grants 403, no token 401.
    let (status, body) = send(
        payt.post(DEBTORS)
            .json(&json!({"administration_id": payt.administration_id})),
    )
    .await;
    assert_error(status, &body, 422, "POST /v1/debtors without debtors");
    let (status, body) = send(
        payt.post(DEBTORS)
            .json(&json!({"administration_id": UNLIKELY_ADMINISTRATION, "debtors": []})),
    )
    .await;
    assert_error(status, &body, 403, "POST /v1/debtors to an ungranted administration");
    assert_eq!(body["code"], "forbidden");
    let (status, body) = send(
        payt.client
            .post(payt.url(DEBTORS))
            .json(&json!({"administration_id": payt.administration_id, "debtors": []})),
    )
    .await;
    assert_error(status, &body, 401, "POST /v1/debtors without a token");
}

// ---------------------------------------------------------------------------------------------
// Contacts
// ---------------------------------------------------------------------------------------------

async fn contact(payt: &Payt, identifier: &str) -> Value {
    let found = payt.walk(CONTACTS, 100, &[("contact_identifiers", identifier)]).await;
    assert_eq!(found.len(), 1, "contact {identifier}: {found:?}");
    found.into_iter().next().unwrap_or_default()
}

#[tokio::test]
async fn contacts_upsert_link_to_debtors_and_filter() {
    let payt = Payt::connect().await;
    let identifier = unique_reference("contact");
    let out = upsert(
        &payt,
        CONTACTS,
        "contacts",
        json!([{"contact_identifier": identifier, "firstname": "Contract", "lastname": "Tester",
                "gender": "female", "default_email_address": "contract.tester@example.com",
                "postal_address_city": "Utrecht", "postal_address_country_code": "NL"}]),
    )
    .await;
    assert_success_entity(&out, "POST /v1/contacts");
    assert_eq!(out["count"], 1, "{out}");
    let created = contact(&payt, &identifier).await;
    assert_eq!(created["firstname"], "Contract");
    assert!(created["validation_errors"].is_object() && created["updated_at"].is_string());
    assert_eq!(created["debtor_numbers"], json!([]));

    // A debtor pointing at the contact shows up in its debtor_numbers and the filter finds it.
    let made = create_debtors(&payt, 1, json!({"contact_identifier": identifier})).await;
    let number = &made[0].0;
    let linked = contact(&payt, &identifier).await;
    assert_eq!(linked["debtor_numbers"], json!([number]));
    let by_debtor = payt.walk(CONTACTS, 100, &[("debtor_numbers", number)]).await;
    assert_eq!(ids(&by_debtor), [id_of(&linked)]);
    let by_id = payt.walk(CONTACTS, 100, &[("ids", &id_of(&linked))]).await;
    assert_eq!(ids(&by_id), [id_of(&linked)]);

    // Updating by internal id keeps omitted keys.
    let out = upsert(
        &payt,
        CONTACTS,
        "contacts",
        json!([{"id": id_of(&linked), "lastname": "Tester-Updated"}]),
    )
    .await;
    assert_eq!(out["count"], 1, "{out}");
    let updated = contact(&payt, &identifier).await;
    assert_eq!(
        (updated["firstname"].clone(), updated["lastname"].clone()),
        (json!("Contract"), json!("Tester-Updated"))
    );
    // Tolerance: the stamp is our contact's updated_at; other contacts change meanwhile: "strictly after" only.
    let stamp = str_of(&created, "updated_at");
    let after = payt.walk(CONTACTS, 500, &[("updated_after", stamp)]).await;
    assert!(after.iter().all(|c| str_of(c, "updated_at") > stamp));

    // A bad gender refuses that record only.
    let bad = unique_reference("contact-bad");
    let out = upsert(
        &payt,
        CONTACTS,
        "contacts",
        json!([{"contact_identifier": bad, "gender": "unknown"}]),
    )
    .await;
    assert_success_entity(&out, "bad gender");
    assert_eq!(out["count"], 0, "{out}");
    assert!(out["errors"].get(&bad).is_some(), "{out}");

    // Walking every page ends.
    // Tolerance: the administration holds contacts of other tests and runs: ours must be listed.
    let all = payt.walk(CONTACTS, 25, &[]).await;
    assert!(ids(&all).contains(&id_of(&linked)));
    let (status, body) = send(
        payt.post(CONTACTS)
            .json(&json!({"administration_id": payt.administration_id})),
    )
    .await;
    assert_error(status, &body, 422, "POST /v1/contacts without contacts");
    let (status, body) = send(
        payt.get(CONTACTS)
            .query(&[("administration_id", UNLIKELY_ADMINISTRATION)]),
    )
    .await;
    assert_error(status, &body, 403, "contacts of an ungranted administration");
}

// ---------------------------------------------------------------------------------------------
// Administrations
// ---------------------------------------------------------------------------------------------

fn administration_body(name: &str) -> Value {
    json!({
        "administration": {
            "city": "Utrecht", "commercial_registration_number": "12345678", "contact_name": "Contract Tester",
            "country_code": "NL", "email_address": "contract.tester@example.com", "house_number": "1",
            "name": name, "postal_code": "3511 AB", "street_name": "Oudegracht"
        },
        "connection": {"resource_label": name, "resource_identifier": name}
    })
}

#[tokio::test]
async fn administrations_show() {
    let payt = Payt::connect().await;
    let listed = payt.walk(ADMINISTRATIONS, 100, &[]).await;
    let ours = listed
        .iter()
        .find(|a| id_of(a) == payt.administration_id)
        .expect("the test administration is listed");
    // Tolerance: the token may see any number of administrations; the one under test is compared.
    let (status, shown) = send(payt.get(&format!("{ADMINISTRATIONS}/{}", payt.administration_id))).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(&shown, ours);
    let (status, body) = send(payt.get(&format!("{ADMINISTRATIONS}/{UNLIKELY_ADMINISTRATION}"))).await;
    assert_error(status, &body, 403, "an ungranted administration");
    let (status, body) = send(payt.get(&format!("{ADMINISTRATIONS}/abc"))).await;
    assert_error(status, &body, 400, "a non-integer administration id");
}

#[tokio::test]
async fn administrations_create() {
    let payt = Payt::connect().await;
    // Payt's API has no call that deletes or deactivates an administration. The rejected requests
    // below stay behind the gate too: a target that accepted one would create an administration.
    if !payt.permanent_writes("creates an administration, which no API call removes") {
        return;
    }
    let name = unique_reference("administration");
    let (status, created) = send(payt.post(ADMINISTRATIONS).json(&administration_body(&name))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["currency_code"], "EUR", "the default currency");
    assert_eq!(created["timezone"], "Europe/Amsterdam", "the default timezone");
    // Tolerance: the new id is the target's to choose; it is only used to find the administration.
    let id = id_of(&created);
    let (status, again) = send(payt.get(&format!("{ADMINISTRATIONS}/{id}"))).await;
    assert_eq!(status, 200, "the creator may use the new administration: {again}");
    assert_eq!(again, created);
    let listed = payt.walk(ADMINISTRATIONS, 100, &[]).await;
    // Tolerance: the token sees administrations of other tests and runs too; only ours is looked for.
    assert!(ids(&listed).contains(&id), "the new administration is listed");

    let mut invalid = administration_body(&name);
    invalid["administration"]
        .as_object_mut()
        .map(|a| a.remove("street_name"));
    let (status, body) = send(payt.post(ADMINISTRATIONS).json(&invalid)).await;
    assert_error(status, &body, 422, "POST /v1/administrations without street_name");
    let (status, body) = send(
        payt.client
            .post(payt.url(ADMINISTRATIONS))
            .json(&administration_body(&name)),
    )
    .await;
    assert_error(status, &body, 401, "POST /v1/administrations without a token");
}

// ---------------------------------------------------------------------------------------------
// Companies and sign-up (HTTP Basic)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn companies_use_basic_auth() {
    let payt = Payt::connect().await;
    let (id, secret) = client_credentials();
    let basic = |rb: RequestBuilder| rb.basic_auth(&id, Some(&secret));
    let (status, page) = send(basic(
        payt.client.get(payt.url("/v1/companies")).query(&[("per_page", "1")]),
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    let data = page["data"].as_array().expect("data");
    // Tolerance: the number of companies differs per target (sign-ups add some): one is needed.
    assert!(data.len() <= 1);
    let first = data
        .first()
        .expect("the application has at least one connected company")
        .clone();
    for key in ["id", "name", "status"] {
        assert!(first[key].is_string(), "company {key}: {first}");
    }
    assert!(first["trial"].is_boolean());
    let (status, shown) = send(basic(
        payt.client.get(payt.url(&format!("/v1/companies/{}", id_of(&first)))),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(shown, first);
    // Walk every company page.
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut q = vec![("per_page", "2".to_string())];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let (status, page) = send(basic(payt.client.get(payt.url("/v1/companies")).query(&q))).await;
        assert_eq!(status, 200, "{page}");
        cursor = page["pagination"]["cursor"].as_str().map(String::from);
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "company pages never ended");

    let (status, body) = send(payt.get("/v1/companies")).await;
    assert_error(status, &body, 401, "GET /v1/companies with a bearer token");
    let (status, body) = send(
        payt.client
            .get(payt.url("/v1/companies"))
            .basic_auth(&id, Some("wrong-secret")),
    )
    .await;
    assert_error(status, &body, 401, "GET /v1/companies with a wrong secret");
}

#[tokio::test]
async fn sign_up_creates_an_unconfirmed_company_and_an_access_grant() {
    let payt = Payt::connect().await;
    // A sign-up creates a company, an administration and a user; no API call removes them (Payt
    // deletes an unconfirmed sign-up after 30 days, reference 3.8). Every request of this test is
    // behind the gate: even the ones expected to be refused would sign up if a target accepted them.
    if !payt.permanent_writes("signs up a company, which no API call removes") {
        return;
    }
    let (id, secret) = client_credentials();
    let reference = unique_reference("signup");
    let email = format!("{reference}@example.com");
    let form = vec![
        ("administration[city]", "Utrecht".to_string()),
        ("administration[commercial_registration_number]", "12345678".into()),
        ("administration[country_code]", "NL".into()),
        ("administration[email_address]", email.clone()),
        ("administration[house_number]", "1".into()),
        ("administration[name]", reference.clone()),
        ("administration[phone_number]", "+31 30 1234567".into()),
        ("administration[postal_code]", "3511 AB".into()),
        ("administration[street_name]", "Oudegracht".into()),
        ("user[first_name]", "Contract".into()),
        ("user[last_name]", "Tester".into()),
        ("user[email_address]", email.clone()),
        ("user[locale]", "en-GB".into()),
        ("connection[resource_label]", reference.clone()),
        ("connection[resource_identifier]", reference.clone()),
    ];
    payt.ensure_writable();
    let post = || payt.client.post(payt.url("/v1/sign_up"));
    let (status, body) = send(post().bearer_auth(&payt.token).form(&form)).await;
    assert_error(status, &body, 401, "POST /v1/sign_up with a bearer token");

    let (status, s) = send(post().basic_auth(&id, Some(&secret)).form(&form)).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["company"]["status"], "unconfirmed");
    assert_eq!(s["administration"]["name"], reference.as_str());
    assert_eq!(s["user"]["email_address"], email.as_str());
    assert!(s["user"]["id"].is_string() && s["user"]["name"].is_string());
    let grant = &s["access_grant"];
    // Tolerance: ids, the code, its lifetime and creation time are generated: type and form only.
    assert_eq!(grant["grant_type"], "authorization_code");
    assert!(grant["code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(grant["expires_in"].is_i64());
    assert!(
        grant["created_at"].as_str().is_some_and(|t| t.parse::<i64>().is_ok()),
        "created_at is UNIX time as a string: {grant}"
    );

    // Missing required keys: 422.
    let (status, body) = send(post().basic_auth(&id, Some(&secret)).form(&form[..4])).await;
    assert_error(status, &body, 422, "POST /v1/sign_up without most keys");
}
