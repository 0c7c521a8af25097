//! Request validation as paywise's own OpenAPI files say (`spec/*.yaml`), and the rules the mock
//! adds beyond them, each with its lenient switch (`MockPaywiseBuilder::lenient`).

use mock_paywise::state::LenientRule;
use mock_paywise::{MockPaywise, PaywiseBuilder as _};
use serde_json::{Value, json};

async fn post(m: &MockPaywise, path: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", m.uri()))
        .bearer_auth(m.token())
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn debtor(m: &MockPaywise) -> String {
    let (s, d) = post(
        m,
        "/v1/debtors/",
        json!({"acting_as": "business", "organization": {"name": "Muster GmbH"},
               "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]}),
    )
    .await;
    assert_eq!(s, 201, "{d}");
    d["id"].as_str().expect("id").to_string()
}

fn claim(debtor: &str, main: Value, total: Value) -> Value {
    json!({
        "debtor": debtor, "your_reference": null, "subject_matter": null, "occurence_date": null,
        "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null,
        "delay_date": null, "main_claim_amount": main, "total_claim_amount": total,
        "starting_approach": "extrajudicial", "claim_disputed": false, "obligation_fulfilled": true
    })
}

#[tokio::test]
async fn claims_require_what_the_vendor_lists_and_nothing_more() {
    let m = MockPaywise::test().seed(5).start().await;
    let d = debtor(&m).await;
    // The vendor lists 14 required fields; the nullable ones must be present, null is fine.
    let (s, e) = post(&m, "/v1/claims/", json!({"debtor": d})).await;
    assert_eq!(s, 400);
    for field in [
        "your_reference",
        "subject_matter",
        "occurence_date",
        "document_reference",
        "document_date",
        "due_date",
        "reminder_date",
        "delay_date",
        "main_claim_amount",
        "total_claim_amount",
        "starting_approach",
        "claim_disputed",
        "obligation_fulfilled",
    ] {
        assert_eq!(e[field], json!(["This field is required."]), "{field}: {e}");
    }
    // Amounts need no currency (EUR then); USD is a currency; 14 digits before the point fit.
    let (s, c) = post(
        &m,
        "/v1/claims/",
        claim(&d, json!({"value": "10.00"}), json!({"value": "10.00"})),
    )
    .await;
    assert_eq!(
        (s, c["main_claim_amount"].clone()),
        (201, json!({"value": "10.00", "currency": "EUR"}))
    );
    let usd = json!({"value": "12345678901234.50", "currency": "USD"});
    let (s, c) = post(&m, "/v1/claims/", claim(&d, usd.clone(), usd.clone())).await;
    assert_eq!((s, c["total_claim_amount"].clone()), (201, usd));
    let (s, e) = post(
        &m,
        "/v1/claims/",
        claim(
            &d,
            json!({"value": "123456789012345"}),
            json!({"value": "1", "currency": "GBP"}),
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        e["main_claim_amount"]["value"],
        json!(["Ensure that there are no more than 14 digits before the decimal point."])
    );
    assert_eq!(
        e["total_claim_amount"]["currency"],
        json!(["\"GBP\" is not a valid choice."])
    );

    // A charge needs its dates and references present (null allowed), not a type; a blank type
    // is `BlankEnum`; metadata and event types are the vendor's enums; items need description,
    // quantity (a number) and amount.
    let charge = json!({"your_reference": null, "subject_matter": null, "occurence_date": null,
                        "document_date": null, "due_date": null, "amount": {"value": "5.00"}});
    let mut body = claim(&d, json!({"value": "10.00"}), json!({"value": "20.00"}));
    body["additional_charges"] = json!([charge, {"type": "", "your_reference": null, "subject_matter": null,
        "occurence_date": null, "document_date": null, "due_date": null, "amount": {"value": "5.00"}}]);
    body["items"] = json!([{"description": "Stunde", "quantity": 2.5, "amount": {"value": "10.00"}}]);
    let (s, c) = post(&m, "/v1/claims/", body).await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["items"][0]["quantity"], json!(2.5));
    assert!(c["additional_charges"][0].get("document_reference").is_none(), "{c}");
    let mut body = claim(&d, json!({"value": "10.00"}), json!({"value": "10.00"}));
    body["additional_charges"] = json!([{"type": "fee", "amount": {"value": "5.00"}}]);
    body["metadata"] = json!([{"type": "shoe:size", "value": "42"}]);
    body["events"] = json!([{"type": "claim"}]);
    body["items"] = json!([{"quantity": "many"}]);
    let (s, e) = post(&m, "/v1/claims/", body).await;
    assert_eq!(s, 400);
    assert_eq!(
        e["additional_charges"][0]["type"],
        json!(["\"fee\" is not a valid choice."])
    );
    assert_eq!(
        e["additional_charges"][0]["due_date"],
        json!(["This field is required."])
    );
    assert_eq!(
        e["metadata"][0]["type"],
        json!(["\"shoe:size\" is not a valid choice."])
    );
    assert_eq!(e["events"][0]["title"], json!(["This field is required."]));
    assert_eq!(e["events"][0]["occurence"], json!(["This field is required."]));
    assert_eq!(e["items"][0]["quantity"], json!(["A valid number is required."]));
    assert_eq!(e["items"][0]["description"], json!(["This field is required."]));
}

#[tokio::test]
async fn debtors_follow_the_vendor_files() {
    let m = MockPaywise::test().seed(5).start().await;
    // Address fields are required but nullable; zip and city at most 100; a blank acting_as is
    // allowed; bic up to 255 characters.
    let (s, d) = post(
        &m,
        "/v1/debtors/",
        json!({"acting_as": "", "person": {"first_name": null, "last_name": "Muster"},
               "addresses": [{"street": null, "zip": null, "city": null, "country": "FR"}],
               "bank_accounts": [{"iban": "FR1420041010050500013M02606", "bic": "B".repeat(40)}]}),
    )
    .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(
        d["addresses"][0],
        json!({"street": null, "zip": null, "city": null, "country": "FR"})
    );
    let (s, e) = post(
        &m,
        "/v1/debtors/",
        json!({"acting_as": "business", "organization": {"name": "X"},
               "addresses": [{"street": "s", "city": "c".repeat(101), "country": "XX"}],
               "communication_channels": [{"type": "telegram", "value": ""}],
               "metadata": [{"type": "user:shoe", "value": "1"}]}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["addresses"][0]["zip"], json!(["This field is required."]));
    assert_eq!(
        e["addresses"][0]["city"],
        json!(["Ensure this field has no more than 100 characters."])
    );
    assert_eq!(e["addresses"][0]["country"], json!(["\"XX\" is not a valid choice."]));
    assert_eq!(
        e["communication_channels"][0]["type"],
        json!(["\"telegram\" is not a valid choice."])
    );
    assert_eq!(
        e["communication_channels"][0]["value"],
        json!(["This field may not be blank."])
    );
    assert_eq!(
        e["metadata"][0]["type"],
        json!(["\"user:shoe\" is not a valid choice."])
    );
}

#[tokio::test]
async fn the_mocks_own_rules_are_strict_by_default() {
    let m = MockPaywise::test().seed(5).start().await;
    let d = debtor(&m).await;
    let (s, e) = post(
        &m,
        "/v1/claims/",
        claim(&d, json!({"value": "10.00"}), json!({"value": "11.00"})),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        e["total_claim_amount"][0].as_str().expect("msg").contains("(10.00)"),
        "{e}"
    );
    let (s, e) = post(
        &m,
        "/v1/claims/",
        claim(
            &d,
            json!({"value": "10.00"}),
            json!({"value": "10.00", "currency": "USD"}),
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        e["non_field_errors"],
        json!(["All amounts of a claim must be in the currency of main_claim_amount."])
    );
    let (s, e) = post(
        &m,
        "/v1/claims/",
        claim(&d, json!({"value": "0"}), json!({"value": "0"})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        e["main_claim_amount"]["value"],
        json!(["Ensure this value is greater than or equal to 0.01."])
    );
    let (s, e) = post(
        &m,
        &format!("/v1/debtors/{d}/bankaccounts/"),
        json!({"iban": "DE00123"}),
    )
    .await;
    assert_eq!((s, e), (400, json!({"iban": ["Enter a valid IBAN."]})));
}

#[tokio::test]
async fn lenient_rules_can_be_switched_off_one_by_one() {
    let m = MockPaywise::test()
        .seed(5)
        .lenient(LenientRule::Totals)
        .lenient(LenientRule::Amounts)
        .lenient(LenientRule::Iban)
        .start()
        .await;
    let d = debtor(&m).await;
    // The total is kept as sent.
    let (s, c) = post(
        &m,
        "/v1/claims/",
        claim(&d, json!({"value": "10.00"}), json!({"value": "11.00"})),
    )
    .await;
    assert_eq!(
        (s, c["total_claim_amount"]["value"].clone()),
        (201, json!("11.00")),
        "{c}"
    );
    let (s, c) = post(
        &m,
        "/v1/claims/",
        claim(&d, json!({"value": "-1.00"}), json!({"value": "-1.00"})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let (s, c) = post(
        &m,
        &format!("/v1/debtors/{d}/bankaccounts/"),
        json!({"iban": "DE00123"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    // Only what was switched off: the vendor's own rules stay.
    let (s, _) = post(&m, "/v1/claims/", json!({"debtor": d})).await;
    assert_eq!(s, 400);
    assert_eq!(
        "totals,amounts,iban"
            .split(',')
            .map(|r| r.parse::<LenientRule>().expect("a rule"))
            .collect::<Vec<_>>(),
        LenientRule::ALL
    );
    assert!("everything".parse::<LenientRule>().is_err());
}
