//! The Payt mock against Payt's own contract.
//!
//! Starts the mock on a free port through its library handle, requests every implemented route
//! (success and error cases, under both `/v1` and `/api/v1`) and validates each response body
//! against the schema that the vendored OpenAPI spec (`spec/payt-openapi.json`) gives for that
//! operation and status. Every case also asserts the status it expects, so the test fails when the
//! mock answers differently.
//!
//! Findings are printed as they happen (request, status, body and every validation error with its
//! instance path) and the test panics at the end if there was any, so one run shows them all.

mod groups;
pub mod harness;

use harness::*;
use mock_payt::MockPayt;
use reqwest::Method;
use serde_json::{Value, json};

async fn administrations(h: &mut Harness) {
    let mut bodies = Vec::new();
    for prefix in PREFIXES {
        let reply = h.call(Req::get(format!("{prefix}/administrations")), 200).await;
        let got = ids(&data(&reply.body));
        h.ensure(got == ["81", "82"], || {
            format!("{prefix}/administrations lists {got:?}, expected the granted [81, 82]")
        });
        bodies.push(reply.body);
    }
    h.ensure(bodies[0] == bodies[1], || {
        "/v1 and /api/v1 administrations differ".to_string()
    });

    // Paging: per_page=1, then the cursor.
    let first = h.call(Req::get("/v1/administrations").q("per_page", 1), 200).await;
    let c = cursor(&first.body);
    h.ensure(ids(&data(&first.body)) == ["81"] && c.as_deref() == Some("81"), || {
        format!("administrations per_page=1: {}", first.body)
    });
    let second = h
        .call(
            Req::get("/api/v1/administrations")
                .q("per_page", 1)
                .q("cursor", c.unwrap_or_default()),
            200,
        )
        .await;
    h.ensure(
        ids(&data(&second.body)) == ["82"] && cursor(&second.body).is_none(),
        || format!("administrations page 2: {}", second.body),
    );

    // Projections.
    let full = selection(
        h.spec.required("CustomerApi_V1_AdministrationEntity"),
        &["import_origin_identifier", "last_successful_import_at"],
        &[],
    );
    h.call(Req::get("/v1/administrations").fields(full), 200).await;
    h.call(
        Req::get("/v1/administrations").fields(json!({"only": ["id", "name", "last_successful_import_at"]})),
        200,
    )
    .await;

    // Errors.
    for (name, value) in [
        ("per_page", "0"),
        ("per_page", "501"),
        ("per_page", "ten"),
        ("cursor", "abc"),
        ("fields", "not-json"),
    ] {
        h.call(Req::get("/v1/administrations").q(name, value), 400).await;
    }
    h.call(Req::get("/v1/administrations").auth(Auth::Missing), 401).await;
    h.call(
        Req::get("/v1/administrations").auth(Auth::Header("Bearer wrong-token")),
        401,
    )
    .await;
    h.call(
        Req::get("/api/v1/administrations").auth(Auth::Header("Basic dXNlcjpwYXNz")),
        401,
    )
    .await;
    h.call(Req::new(Method::DELETE, "/v1/administrations"), 405).await;
}

async fn credit_cases(h: &mut Harness) {
    let r = Resource {
        name: "credit_cases",
        full: selection(
            h.spec.required("CustomerApi_V1_CreditCaseEntity"),
            &[
                "public_url",
                "deeplink_url",
                "open_interest_and_collection_costs",
                "internal_note_email_address",
                "active_payment_plan_id",
            ],
            &[("labels", h.spec.required("CustomerApi_V1_LabelEntity"))],
        ),
        opt_in: &[
            "labels",
            "public_url",
            "deeplink_url",
            "open_interest_and_collection_costs",
            "internal_note_email_address",
        ],
        narrow: json!({"only": ["id", "public_url", {"labels": ["name"]}]}),
    };
    list_and_show(h, &r).await;
}

async fn payment_plans(h: &mut Harness, mock: &MockPayt) {
    let r = Resource {
        name: "payment_plans",
        full: selection(
            h.spec.required("CustomerApi_V1_PaymentPlanEntity"),
            &["public_url", "active"],
            &[("payment_terms", h.spec.required("CustomerApi_V1_PlannedPaymentEntity"))],
        ),
        opt_in: &["public_url"],
        narrow: json!({"only": ["id", "public_url", {"payment_terms": ["id", "due_date"]}]}),
    };
    let full = list_and_show(h, &r).await;

    // debtor_numbers and debtor_identifiers: the debtor of the first plan.
    let debtor_id = full[0]["debtor_id"].as_str().unwrap_or_default().to_string();
    let debtor = mock.state().store.read(|db| {
        db.debtors
            .get(&81, &debtor_id)
            .map(|d| (d.debtor_number.clone(), d.debtor_identifier.clone()))
    });
    let (number, identifier) = debtor.expect("the debtor of a seeded plan exists");
    let same_debtor = |p: &Value| p["debtor_id"] == debtor_id.as_str();
    filter(h, "payment_plans", &full, "debtor_numbers", &number, same_debtor).await;
    filter(
        h,
        "payment_plans",
        &full,
        "debtor_identifiers",
        &identifier,
        same_debtor,
    )
    .await;
}

async fn notifications(h: &mut Harness) {
    let r = Resource {
        name: "notifications",
        full: selection(
            h.spec.required("CustomerApi_V1_NotificationEntity"),
            &["updated_at", "acknowledged_at"],
            &[
                ("acknowledged_by_user", h.spec.required("CustomerApi_V1_UserEntity")),
                ("details", vec!["bounce_reason".to_string()]),
            ],
        ),
        opt_in: &[],
        narrow: json!({"only": ["id", {"details": ["bounce_reason"]}, {"acknowledged_by_user": ["name"]}]}),
    };
    let full = list_and_show(h, &r).await;

    for (param, key) in [
        ("debtor_ids", "debtor_id"),
        ("invoice_ids", "invoice_id"),
        ("credit_case_ids", "credit_case_id"),
    ] {
        let value = full
            .iter()
            .find_map(|n| n[key].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("a seeded notification of administration 81 has a {key}"));
        filter(h, "notifications", &full, param, &value, |n| n[key] == value.as_str()).await;
    }
}

/// Open invoices of administration 81 that no plan covers yet and that have an identifier:
/// `(invoice_number, invoice_identifier)`.
fn open_invoices(mock: &MockPayt, n: usize) -> Vec<(String, String)> {
    let found: Vec<(String, String)> = mock.state().store.read(|db| {
        db.invoices
            .iter(&81)
            .filter(|i| {
                i.open_amount.is_sign_positive() && !i.open_amount.is_zero() && i.active_payment_plan_id.is_none()
            })
            .filter_map(|i| {
                i.invoice_identifier
                    .as_ref()
                    .map(|identifier| (i.invoice_number.to_string(), identifier.to_string()))
            })
            .take(n)
            .collect()
    });
    assert_eq!(found.len(), n, "administration 81 has {n} open invoices without a plan");
    found
}

/// A credit case of administration 81 that no plan covers yet: its `credit_case_number`.
fn open_credit_case(mock: &MockPayt) -> String {
    mock.state()
        .store
        .read(|db| {
            db.credit_cases
                .iter(&81)
                .find(|c| c.active_payment_plan_id.is_none())
                .map(|c| c.credit_case_number.clone())
        })
        .expect("administration 81 has a credit case without a plan")
}

fn covered(mock: &MockPayt, invoice_number: &str) -> Option<u64> {
    mock.state().store.read(|db| {
        db.invoices
            .iter(&81)
            .find(|i| i.invoice_number == invoice_number)
            .and_then(|i| i.active_payment_plan_id)
    })
}

async fn create_payment_plans(h: &mut Harness, mock: &MockPayt) {
    let invoices = open_invoices(mock, 5);
    let [json_invoice, form_invoice, api_invoice, by_identifier, spare] = [0, 1, 2, 3, 4].map(|i| &invoices[i].0);
    let (by_identifier_id, spare_identifier) = (&invoices[3].1, &invoices[4].1);

    // JSON body.
    let created = h
        .call(
            Req::post("/v1/payment_plans").json(json!({
                "administration_id": "81",
                "terms": [
                    {"amount": "10.00", "due_date": "2027-01-01"},
                    {"amount": 15.5, "due_date": "2027-02-01"}
                ],
                "invoice_numbers": [json_invoice]
            })),
            201,
        )
        .await;
    h.ensure(created.schema.as_deref() == Some(PAYMENT_PLAN_ENTITY), || {
        format!("POST /v1/payment_plans 201 was validated against {:?}", created.schema)
    });
    let plan = &created.body;
    let amounts: Vec<&str> = plan["payment_terms"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["total_amount"].as_str().unwrap_or_default())
        .collect();
    h.ensure(
        amounts == ["10.00", "15.50"] && plan["active"] == true && plan["administration_id"] == "81",
        || format!("the created plan does not reflect the request: {plan}"),
    );
    let plan_id = plan["id"].as_str().unwrap_or_default().to_string();
    h.ensure(
        covered(mock, json_invoice).map(|p| p.to_string()) == Some(plan_id.clone()),
        || format!("invoice {json_invoice} is not covered by the new plan {plan_id}"),
    );
    let shown = h
        .call(Req::get(format!("/v1/payment_plans/{plan_id}")).admin(81), 200)
        .await;
    h.ensure(shown.body == *plan, || {
        format!("GET of the created plan differs from the POST answer: {}", shown.body)
    });
    let listed = h
        .call(
            Req::get("/api/v1/payment_plans")
                .admin(81)
                .q("ids", &plan_id)
                .fields(json!({"only": ["id", "public_url", {"payment_terms": ["id", "due_date"]}]})),
            200,
        )
        .await;
    h.ensure(ids(&data(&listed.body)) == [plan_id.clone()], || {
        format!("the created plan is not listed by ids: {}", listed.body)
    });

    // Form body, Rails style.
    let form = format!(
        "administration_id=81&terms[][amount]=10.00&terms[][due_date]=2027-01-01\
         &terms[][amount]=5&terms[][due_date]=2027-02-01&invoice_numbers[]={form_invoice}"
    );
    let created = h.call(Req::post("/v1/payment_plans").body(FORM, form), 201).await;
    h.ensure(
        created.body["payment_terms"].as_array().map(Vec::len) == Some(2) && covered(mock, form_invoice).is_some(),
        || format!("the form-created plan is wrong: {}", created.body),
    );

    // /api/v1, administration_id as a number.
    h.call(
        Req::post("/api/v1/payment_plans").json(json!({
            "administration_id": 81,
            "terms": [{"amount": 25, "due_date": "2027-03-15"}],
            "invoice_numbers": [api_invoice]
        })),
        201,
    )
    .await;

    // By invoice identifier, and by credit case number.
    h.call(
        Req::post("/v1/payment_plans").json(json!({
            "administration_id": "81",
            "terms": [{"amount": "12.34", "due_date": "2027-04-01"}],
            "invoice_identifiers": [by_identifier_id]
        })),
        201,
    )
    .await;
    h.ensure(covered(mock, by_identifier).is_some(), || {
        format!("invoice {by_identifier} ({by_identifier_id}) is not covered by its new plan")
    });
    let case_number = open_credit_case(mock);
    h.call(
        Req::post("/api/v1/payment_plans").body(
            FORM,
            format!(
                "administration_id=81&terms[][amount]=100&terms[][due_date]=2027-05-01\
                 &credit_case_numbers[]={case_number}"
            ),
        ),
        201,
    )
    .await;

    // Errors: nothing may be processed.
    let term = json!({"amount": "10.00", "due_date": "2027-01-01"});
    let with = |terms: Value| json!({"administration_id": "81", "terms": terms, "invoice_numbers": [spare]});
    let unprocessable = [
        json!({"administration_id": "81", "invoice_numbers": [spare]}),
        with(json!([])),
        with(json!("10.00")),
        with(json!([{"amount": 0, "due_date": "2027-01-01"}])),
        with(json!([{"amount": "0.00", "due_date": "2027-01-01"}])),
        with(json!([{"amount": "-5", "due_date": "2027-01-01"}])),
        with(json!([{"amount": "ten", "due_date": "2027-01-01"}])),
        with(json!([{"due_date": "2027-01-01"}])),
        with(json!([{"amount": "10.00", "due_date": "2027-13-01"}])),
        with(json!([{"amount": "10.00", "due_date": "01-01-2027"}])),
        with(json!([{"amount": "10.00"}])),
        json!({"administration_id": "81", "terms": [term], "invoice_numbers": ["NO-SUCH-INVOICE"]}),
        json!({"administration_id": "81", "terms": [term], "invoice_numbers": [json_invoice]}),
        json!({"administration_id": "81", "terms": [term]}),
        json!({"terms": [term], "invoice_numbers": [spare]}),
        // Identifiers name their administration (INV-81-...): unknown in 82.
        json!({"administration_id": "82", "terms": [term], "invoice_identifiers": [spare_identifier]}),
        json!({"administration_id": "81", "terms": [term], "credit_case_numbers": ["INC-0-00000"]}),
        json!({"administration_id": "81", "terms": [term], "invoice_numbers": [spare, by_identifier]}),
        json!([term]),
    ];
    for body in unprocessable {
        h.call(Req::post("/v1/payment_plans").json(body), 422).await;
    }
    h.call(
        Req::post("/api/v1/payment_plans").body(JSON, r#"{"administration_id": "81", "terms": ["#),
        422,
    )
    .await;
    h.call(
        Req::post("/v1/payment_plans").body(
            FORM,
            format!("administration_id=81&terms[][amount]=0&terms[][due_date]=2027-01-01&invoice_numbers[]={spare}"),
        ),
        422,
    )
    .await;
    h.call(
        Req::post("/v1/payment_plans")
            .json(json!({"administration_id": "83", "terms": [term], "invoice_numbers": [spare]})),
        403,
    )
    .await;
    h.call(
        Req::post("/v1/payment_plans")
            .auth(Auth::Missing)
            .json(with(json!([term]))),
        401,
    )
    .await;
    h.call(
        Req::post("/api/v1/payment_plans")
            .auth(Auth::Header("Bearer wrong-token"))
            .json(with(json!([term]))),
        401,
    )
    .await;
    h.call(Req::post("/v1/payment_plans").body("text/plain", "terms please"), 415)
        .await;
    h.ensure(covered(mock, spare).is_none(), || {
        format!("a rejected request covered invoice {spare} with a plan")
    });
}

async fn unknown_routes(h: &mut Harness) {
    for path in [
        "/v1/nope",
        "/api/v1/nope",
        "/v2/administrations",
        "/v1/credit_cases/1001/extra",
        "/",
    ] {
        h.call(Req::get(path).admin(81), 404).await;
    }
    h.call(Req::new(Method::PATCH, "/v1/notifications/1001").admin(81), 405)
        .await;
    h.call(Req::new(Method::DELETE, "/api/v1/payment_plans").admin(81), 405)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validator_accepts_null_closes_objects_and_bites() {
    let mock = MockPayt::test().seed(7).start().await;
    let mut h = Harness::new(&mock);

    // The transforms did what they say, on a schema the mock serves.
    let entity = &h.spec.doc["components"]["schemas"]["CustomerApi_V1_PaymentPlanEntity"];
    assert_eq!(entity["additionalProperties"], false, "objects are closed");
    assert_eq!(
        entity["properties"]["id"]["anyOf"][1],
        json!({"type": "null"}),
        "properties accept null"
    );
    // And the validators bite: a wrong type, an unknown field and a bad timestamp are caught.
    let caught = h.spec.errors(
        PAYMENT_PLAN_ENTITY,
        &json!({
            "id": 1, "administration_id": "81", "debtor_id": "2", "auto_activated": false,
            "created_at": "yesterday", "updated_at": "2024-01-01T00:00:00Z", "surprise": true
        }),
    );
    assert_eq!(caught.len(), 3, "expected 3 errors, got {caught:#?}");

    // Nested errors behind the null and allOf wrappers are reported at their instance paths.
    let page = json!({
        "data": [{
            "id": "1", "administration_id": "81", "debtor_id": "2", "auto_activated": false,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "payment_terms": [{"id": "3", "total_amount": 10, "amount_due": "1.00", "due_date": "2024-02-01",
                               "payment_date": null, "extra": 1}],
            "rejected_by_user": {"id": "4", "name": "A"}
        }],
        "pagination": {"cursor": 5}
    });
    let mut paths: Vec<String> = h
        .spec
        .errors("#/components/schemas/CustomerApi_PaymentPlansPageEntity", &page)
        .into_iter()
        .map(|l| l.instance_path)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/data/0/payment_terms/0",
            "/data/0/payment_terms/0/total_amount",
            "/data/0/rejected_by_user",
            "/pagination/cursor"
        ],
        "nested errors"
    );
    // The fields excuse covers only required properties the selection left out.
    let narrow = Selection::from_fields(&json!({"only": ["id", {"payment_terms": ["id", "due_date"]}]}))
        .expect("an only selection");
    assert!(narrow.excuses(true, "/data/0", "created_at"));
    assert!(narrow.excuses(true, "/data/0/payment_terms/1", "amount_due"));
    assert!(!narrow.excuses(true, "/data/0", "id"));
    assert!(!narrow.excuses(true, "/data/0/payment_terms/1", "due_date"));
    assert!(!narrow.excuses(true, "", "data"));
    assert!(!narrow.excuses(false, "/rejected_by_user", "name"));

    h.finish();
}

/// Runs one group of resources on its own mock, so one group's writes never meet another's.
async fn group(run: impl AsyncFnOnce(&mut Harness, &MockPayt)) {
    let mock = MockPayt::test().seed(7).start().await;
    let mut h = Harness::new(&mock);
    run(&mut h, &mock).await;
    h.finish();
}

/// Every operation of the spec is exercised with every status the spec documents for it (and its
/// success), each response validated against its schema.
#[tokio::test]
async fn every_operation_and_documented_status_is_exercised() {
    group(groups::parties::run).await;
    group(groups::invoicing::run).await;
    group(groups::workflow::run).await;
    group(async |h, mock| {
        administrations(h).await;
        credit_cases(h).await;
        payment_plans(h, mock).await;
        notifications(h).await;
        create_payment_plans(h, mock).await;
        unknown_routes(h).await;
        // 403s the other groups do not reach: a token without the read scope, and the application
        // that is not enabled for in-app integrations (companies and sign-up).
        mock.state().tokens.insert(
            "no-scopes",
            mock_payt::state::Grant {
                administrations: None,
                scopes: Some(Default::default()),
            },
        );
        h.call(
            Req::get("/v1/administrations").auth(Auth::Header("Bearer no-scopes")),
            403,
        )
        .await;
        const RESTRICTED: &str = "Basic cGF5dF9yZXN0cmljdGVkX2NsaWVudF9pZDpwYXl0X3Jlc3RyaWN0ZWRfY2xpZW50X3NlY3JldA==";
        h.call(Req::get("/v1/companies").auth(Auth::Header(RESTRICTED)), 403)
            .await;
        h.call(Req::get("/api/v1/companies/1").auth(Auth::Header(RESTRICTED)), 403)
            .await;
        h.call(
            Req::post("/v1/sign_up")
                .auth(Auth::Header(RESTRICTED))
                .body(FORM, "user[first_name]=A"),
            403,
        )
        .await;
    })
    .await;
    let spec: Value = serde_json::from_str(SPEC).expect("the spec is JSON");
    let seen = coverage()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut missing = Vec::new();
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            for status in op["responses"].as_object().expect("responses").keys() {
                let status: u16 = status.parse().expect("numeric status");
                if !seen.contains(&(method.clone(), path.clone(), status)) {
                    missing.push(format!("{} {path} -> {status}", method.to_uppercase()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "operations and documented statuses never exercised:\n{}",
        missing.join("\n")
    );
}
