//! The paywise mock against paywise's own OpenAPI files.
//!
//! `spec/case-management-v1.yaml` and `spec/partner-v1.yaml` are paywise's published OpenAPI 3.0.3
//! files. This test starts the mock on the shared test clock, calls every operation the two files
//! describe (success and error cases) and validates each response body against the schema the
//! files give for that operation and status, read as `mock_core::openapi::validation_ready` reads
//! a vendor document: `nullable: true` honoured, objects closed (a field the files lack is an
//! error), any property may be `null`, nothing else relaxed. A status the files do not document
//! (they document only successes and a few partner errors) must be DRF's error shape. Every case
//! also asserts the status it expects. One choice overrides the files:
//! `GET /v1/mandates/{id}/statusupdates/` answers a list of `StatusUpdates` (see the README); and
//! `spec/later-docs-additions.json` adds the two response fields paywise's later docs pages
//! document for covered operations (a status update's `downloads`, a mandate's
//! `requests_to_client_summary`).
//!
//! Findings are printed as they happen and the test fails at the end if there was any, or if an
//! operation or documented status of either file was never exercised.

pub mod harness;

use harness::*;
use mock_paywise::MockPaywise;
use mock_paywise::resources::partner::{PARTNER_RESTRICTED_TOKEN, PARTNER_TOKEN};
use serde_json::{Value, json};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

fn debtor_body(reference: &str) -> Value {
    json!({
        "your_reference": reference,
        "acting_as": "business",
        "organization": {"name": "Muster GmbH"},
        "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}],
        "communication_channels": [{"type": "email", "value": "buchhaltung@muster.example"}],
        "bank_accounts": [{"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}],
        "metadata": [{"type": "user:reference", "value": "u-1"}],
        "events": [{"type": "registration", "title": "Registriert", "occurence": "2026-01-02T03:04:05Z"}]
    })
}

/// A claim with every field the vendor lists, most of them null.
fn claim_body(debtor: &str, reference: &str) -> Value {
    json!({
        "debtor": debtor, "your_reference": reference, "subject_matter": null, "occurence_date": null,
        "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null,
        "delay_date": null,
        "main_claim_amount": {"value": "100.00", "currency": "EUR"},
        "total_claim_amount": {"value": "100.00", "currency": "EUR"},
        "starting_approach": "extrajudicial", "claim_disputed": false, "obligation_fulfilled": true
    })
}

async fn debtors(h: &mut Harness) -> String {
    h.call(Req::get("/v1/debtors/"), 200).await;
    h.call(Req::get("/v1/debtors/?acting_as=consumer&limit=3"), 200).await;
    let debtor = h
        .call(Req::post("/v1/debtors/").json(debtor_body("spec-debtor-1")), 201)
        .await;
    let d = id(&debtor);
    h.call(Req::get(format!("/v1/debtors/{d}/")), 200).await;
    // A consumer; blank acting_as is in the vendor's BlankEnum.
    h.call(
        Req::post("/v1/debtors/").json(json!({
            "acting_as": "consumer", "person": {"first_name": null, "last_name": "Mustermann"},
            "addresses": [{"street": null, "zip": null, "city": null, "country": "AT"}]
        })),
        201,
    )
    .await;
    h.call(
        Req::post(format!("/v1/debtors/{d}/addresses/"))
            .json(json!({"street": "Ring 2", "zip": "1010", "city": "Wien", "country": "AT"})),
        201,
    )
    .await;
    h.call(
        Req::post(format!("/v1/debtors/{d}/bankaccounts/")).json(json!({"iban": "AT611904300234573201"})),
        201,
    )
    .await;
    h.call(
        Req::post(format!("/v1/debtors/{d}/communicationchannels/"))
            .json(json!({"type": "website_url", "value": "https://muster.example"})),
        201,
    )
    .await;
    // Errors.
    h.call(Req::post("/v1/debtors/").json(json!({})), 400).await;
    h.call(
        Req::post(format!("/v1/debtors/{d}/addresses/")).json(json!({"street": "x", "country": "XX"})),
        400,
    )
    .await;
    h.call(
        Req::post(format!("/v1/debtors/{d}/bankaccounts/")).json(json!({"iban": ""})),
        400,
    )
    .await;
    h.call(
        Req::post(format!("/v1/debtors/{d}/communicationchannels/")).json(json!({"type": "pigeon", "value": "x"})),
        400,
    )
    .await;
    h.call(Req::get("/v1/debtors/00000000-0000-4000-8000-000000000000/"), 404)
        .await;
    h.call(Req::get("/v1/debtors/").auth(Auth::Missing), 401).await;
    d
}

async fn claims(h: &mut Harness, debtor: &str) -> String {
    h.call(Req::get("/v1/claims/"), 200).await;
    h.call(Req::get("/v1/claims/?submission_state=accepted&limit=5"), 200)
        .await;
    // Every field, USD, quantities as decimals, charges without a type.
    let full = json!({
        "debtor": debtor, "your_reference": "spec-claim-usd", "subject_matter": "Beratung",
        "occurence_date": "2026-09-01", "document_reference": "RE-1", "document_date": "2026-09-02",
        "due_date": "2026-09-16", "reminder_date": "2026-10-01", "delay_date": "2026-10-02",
        "main_claim_amount": {"value": "119.00", "currency": "USD"},
        "items": [{"description": "Stunde", "quantity": 1.5, "unit": "h", "amount": {"value": "119.00", "currency": "USD"}}],
        "additional_charges": [
            {"type": "reminder_fee", "your_reference": null, "subject_matter": "Mahngebühr", "occurence_date": "2026-10-01",
             "document_date": null, "due_date": null, "amount": {"value": "5.00", "currency": "USD"},
             "metadata": [{"type": "comment", "value": "erste Mahnung"}],
             "events": [{"type": "invoice", "title": "Mahnung", "occurence": "2026-10-01T08:00:00Z"}]},
            {"your_reference": null, "subject_matter": null, "occurence_date": null, "document_date": null,
             "due_date": null, "amount": {"value": "2.50", "currency": "USD"}}
        ],
        "additional_charges_amount": {"value": "7.50", "currency": "USD"},
        "payments": [{"amount": {"value": "10.00", "currency": "USD"}, "value_date": "2026-10-05",
                      "metadata": [{"type": "transaction:reference", "value": "T-1"}]}],
        "total_claim_amount": {"value": "116.50", "currency": "USD"},
        "starting_approach": "judicial", "claim_disputed": false, "obligation_fulfilled": true,
        "metadata": [{"type": "invoice:reference", "value": "RE-1"}],
        "events": [{"type": "delivery", "title": "Geliefert", "occurence": "2026-09-01T10:00:00Z"}]
    });
    let usd = h.call(Req::post("/v1/claims/").json(full), 201).await;
    h.ensure(
        usd["total_claim_amount"] == json!({"value": "116.50", "currency": "USD"}),
        || format!("the USD claim's total: {}", usd["total_claim_amount"]),
    );
    // Amounts without a currency.
    let mut minimal = claim_body(debtor, "spec-claim-eur");
    minimal["main_claim_amount"] = json!({"value": "100.00"});
    minimal["total_claim_amount"] = json!({"value": "100.00"});
    let claim = h.call(Req::post("/v1/claims/").json(minimal), 201).await;
    h.ensure(claim["main_claim_amount"]["currency"] == "EUR", || {
        format!(
            "an amount without a currency is not EUR: {}",
            claim["main_claim_amount"]
        )
    });
    let c = id(&claim);
    h.call(Req::get(format!("/v1/claims/{c}/")), 200).await;
    h.call(
        Req::post(format!("/v1/claims/{c}/documents/")).file("rechnung.pdf", "application/pdf", PDF),
        201,
    )
    .await;
    h.call(
        Req::patch(format!("/v1/claims/{c}/")).json(json!({"submission_state": "released"})),
        200,
    )
    .await;
    // Errors.
    let mut no_dates = claim_body(debtor, "x");
    if let Some(o) = no_dates.as_object_mut() {
        o.remove("delay_date");
    }
    h.call(Req::post("/v1/claims/").json(no_dates), 400).await;
    let mut bad_currency = claim_body(debtor, "x");
    bad_currency["main_claim_amount"]["currency"] = json!("GBP");
    h.call(Req::post("/v1/claims/").json(bad_currency), 400).await;
    h.call(
        Req::patch(format!("/v1/claims/{c}/")).json(json!({"submission_state": "released"})),
        400,
    )
    .await;
    h.call(Req::post(format!("/v1/claims/{c}/documents/")).json(json!({})), 400)
        .await;
    h.call(Req::get("/v1/claims/?due_date=soon"), 400).await;
    h.call(Req::get("/v1/claims/00000000-0000-4000-8000-000000000000/"), 404)
        .await;
    h.call(Req::get("/v1/claims").auth(Auth::Case), 301).await;
    c
}

async fn mandates_and_payments(h: &mut Harness, claim: &str) {
    let page = h.call(Req::get("/v1/mandates/?limit=5"), 200).await;
    h.call(Req::get("/v1/mandates/?legal_stage=extrajudicial&archived=false"), 200)
        .await;
    let m = id(&page["results"][0]);
    h.call(Req::get(format!("/v1/mandates/{m}/")), 200).await;
    h.call(
        Req::patch(format!("/v1/mandates/{m}/")).json(json!({"archived": true})),
        200,
    )
    .await;
    h.call(Req::patch(format!("/v1/mandates/{m}/")).json(json!({})), 200)
        .await;
    h.call(
        Req::patch(format!("/v1/mandates/{m}/")).json(json!({"archived": "maybe"})),
        400,
    )
    .await;
    let updates = h.call(Req::get(format!("/v1/mandates/{m}/statusupdates/")), 200).await;
    h.ensure(updates.as_array().is_some_and(|u| !u.is_empty()), || {
        format!("status updates of a seeded mandate: {updates}")
    });
    h.call(Req::get("/v1/mandates/?legal_stage=nope"), 400).await;

    h.call(Req::get("/v1/payments/"), 200).await;
    let payment = h
        .call(
            Req::post("/v1/payments/").json(json!({
                "claim": claim, "amount": {"value": "20.00"}, "value_date": "2026-10-20",
                "your_reference": null, "metadata": [{"type": "comment", "value": "Teilzahlung"}]
            })),
            201,
        )
        .await;
    h.call(Req::get(format!("/v1/payments/{}/", id(&payment))), 200).await;
    h.call(
        Req::post("/v1/payments/").json(json!({"claim": claim, "amount": {"value": "1.00", "currency": "USD"},
                                                "value_date": "2026-10-20", "metadata": [{"type": "nope", "value": "x"}]})),
        400,
    )
    .await;
    h.call(Req::post("/v1/payments/").json(json!({})), 400).await;
}

async fn partner(h: &mut Harness) {
    let p = Auth::Partner(PARTNER_TOKEN);
    h.call(Req::get("/partner/v1/info/").auth(p.clone()), 200).await;
    let companies = h.call(Req::get("/partner/v1/companies/").auth(p.clone()), 200).await;
    let first = id(&companies["results"][0]);
    h.call(Req::get(format!("/partner/v1/companies/{first}/")).auth(p.clone()), 200)
        .await;
    h.call(
        Req::get(format!("/partner/v1/companies/{first}/")).auth(Auth::Missing),
        401,
    )
    .await;
    let company = h
        .call(
            Req::post("/partner/v1/companies/").auth(p.clone()).json(json!({
                "name": "Spec GmbH", "phone": "+49 30 123456",
                "address": {"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"},
                "vat_number": "DE123456789", "legal_form": "GmbH",
                "legal_representatives": [{"type": "geschaeftsführer", "name": "Max Muster"}],
                "tax_deduction_eligibility": "J",
                "notification_channels": [{"channel_type": "EMAIL", "value": "info@spec.example",
                                           "notification_types": ["STATEMENTS"]}]
            })),
            200,
        )
        .await;
    let c = id(&company);
    h.call(
        Req::post("/partner/v1/companies/")
            .auth(p.clone())
            .json(json!({"name": "Ohne Telefon"})),
        400,
    )
    .await;
    h.call(
        Req::post("/partner/v1/companies/").auth(Auth::Missing).json(json!({})),
        401,
    )
    .await;
    // An incomplete company may still be changed.
    let draft = h
        .call(
            Req::post("/partner/v1/companies/")
                .auth(p.clone())
                .json(json!({"name": "Entwurf GmbH", "phone": "+49 30 1"})),
            200,
        )
        .await;
    let draft = id(&draft);
    h.call(
        Req::patch(format!("/partner/v1/companies/{draft}/"))
            .auth(p.clone())
            .json(json!({"phone": "+49 30 654321"})),
        200,
    )
    .await;
    h.call(
        Req::patch(format!("/partner/v1/companies/{draft}/"))
            .auth(p.clone())
            .json(json!({"tax_deduction_eligibility": "X"})),
        400,
    )
    .await;
    h.call(
        Req::patch(format!("/partner/v1/companies/{draft}/"))
            .auth(Auth::Missing)
            .json(json!({})),
        401,
    )
    .await;

    h.call(Req::get("/partner/v1/users/").auth(p.clone()), 200).await;
    let user_body = json!({"email": "spec-user@kunde.example", "first_name": "Sina", "last_name": "Spec",
                           "company": c, "skip_email_verification": true});
    let user = h
        .call(
            Req::post("/partner/v1/users/").auth(p.clone()).json(user_body.clone()),
            201,
        )
        .await;
    h.call(
        Req::get(format!("/partner/v1/users/{}/", id(&user))).auth(p.clone()),
        200,
    )
    .await;
    h.call(
        Req::get(format!("/partner/v1/users/{}/", id(&user))).auth(Auth::Missing),
        401,
    )
    .await;
    h.call(
        Req::post("/partner/v1/users/").auth(p.clone()).json(user_body.clone()),
        400,
    )
    .await;
    h.call(
        Req::post("/partner/v1/users/")
            .auth(Auth::Missing)
            .json(user_body.clone()),
        401,
    )
    .await;
    h.call(
        Req::post("/partner/v1/users/")
            .auth(Auth::Partner(PARTNER_RESTRICTED_TOKEN))
            .json(user_body),
        403,
    )
    .await;

    let invite_body = json!({"email": "spec-invite@kunde.example", "company": c,
                             "success_url": "https://partner.example/ok", "failure_url": "https://partner.example/fail"});
    let invite = h
        .call(
            Req::post("/partner/v1/userinvites/")
                .auth(p.clone())
                .json(invite_body.clone()),
            201,
        )
        .await;
    let i = id(&invite);
    let url = invite["invite_url"].as_str().unwrap_or_default().to_string();
    let base = h.base.clone();
    h.ensure(url.starts_with(&base) && url.contains("/_mock/paywise/"), || {
        format!("invite_url {url} does not point at the mock ({base})")
    });
    let page = h.http.get(&url).send().await.expect("the invite page answers");
    h.ensure(page.status() == 200, || {
        format!("the invite page {url} answers {}", page.status())
    });
    h.call(
        Req::post("/partner/v1/userinvites/")
            .auth(p.clone())
            .json(invite_body.clone()),
        400,
    )
    .await;
    h.call(
        Req::post("/partner/v1/userinvites/")
            .auth(Auth::Missing)
            .json(invite_body),
        401,
    )
    .await;
    h.call(Req::get(format!("/partner/v1/userinvites/{i}/")).auth(p.clone()), 200)
        .await;
    h.call(
        Req::get(format!("/partner/v1/userinvites/{i}/")).auth(Auth::Missing),
        401,
    )
    .await;
    let onboarded = format!("/partner/v1/userinvites/{i}/get-onboarded-user/");
    h.call(Req::get(&onboarded).auth(p.clone()), 400).await;
    h.call(Req::get(&onboarded).auth(Auth::Missing), 401).await;
    let done = h
        .http
        .post(format!("{}/_mock/paywise/partner/userinvites/{i}/complete", h.base))
        .bearer_auth(PARTNER_TOKEN)
        .json(&json!({"last_name": "Eingeladen"}))
        .send()
        .await
        .expect("the control route answers");
    h.ensure(done.status() == 201, || {
        format!("completing the invite: {}", done.status())
    });
    h.call(Req::get(&onboarded).auth(p.clone()), 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validator_honours_nullable_closes_objects_and_bites() {
    let mut spec = Spec::load();
    let claim = json!({"$ref": "urn:paywise-case-management#/components/schemas/Claim"});
    let caught = spec.errors(
        &claim,
        &json!({"href": "not a uri", "submission_state": "lost", "debtor": "x", "surprise": 1,
                "total_claim_amount": {"value": "1.234", "currency": "GBP"}}),
    );
    let text = caught.join("\n");
    for needle in [
        "surprise",
        "\"lost\"",
        "1.234",
        "GBP",
        "\"mandate\" is a required property",
    ] {
        assert!(text.contains(needle), "{needle} not caught:\n{text}");
    }
    // null is allowed for any property, and OpenAPI's `nullable` items too.
    let channel = json!({"$ref": "urn:paywise-partner#/components/schemas/NotificationChannel"});
    assert!(
        spec.errors(
            &channel,
            &json!({"channel_type": "EMAIL", "value": null, "notification_types": null})
        )
        .is_empty()
    );
    assert!(
        !spec
            .errors(&channel, &json!({"channel_type": "SMS", "value": "x"}))
            .is_empty()
    );
}

/// Every operation of both vendor files is exercised with every status they document, each
/// response validated against its schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vendor_operation_and_documented_status_is_exercised() {
    let mock = MockPaywise::test().seed(7).start().await;
    let mut h = Harness::new(&mock);
    let debtor = debtors(&mut h).await;
    let claim = claims(&mut h, &debtor).await;
    mandates_and_payments(&mut h, &claim).await;
    partner(&mut h).await;
    h.finish();
}
