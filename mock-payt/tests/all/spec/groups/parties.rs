//! Spec checks for administrations (show, create), companies, contacts, debtors and sign-up.

use mock_payt::MockPayt;
use mock_payt::state::Grant;
use reqwest::Method;
use serde_json::{Value, json};

use crate::spec::harness::*;

/// `Authorization: Basic base64("payt_client_id:payt_client_secret")`: the mock's application.
const BASIC: &str = "Basic cGF5dF9jbGllbnRfaWQ6cGF5dF9jbGllbnRfc2VjcmV0";
/// The right client id with a wrong secret.
const BASIC_WRONG: &str = "Basic cGF5dF9jbGllbnRfaWQ6d3Jvbmc=";

/// Requests every route of the group, success and error cases, through the harness.
pub async fn run(h: &mut Harness, mock: &MockPayt) {
    mock.state().tokens.insert(
        "parties-read-only",
        Grant {
            administrations: None,
            scopes: Some(
                ["administrations:read", "debtors:read", "contacts:read"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        },
    );
    administration_show(h).await;
    administration_create(h).await;
    companies(h).await;
    debtors(h).await;
    debtor_upsert(h).await;
    contacts(h).await;
    sign_up(h).await;
}

async fn administration_show(h: &mut Harness) {
    for (prefix, id) in [("/v1", "81"), ("/api/v1", "82")] {
        let reply = h.call(Req::get(format!("{prefix}/administrations/{id}")), 200).await;
        h.ensure(reply.body["id"] == id, || {
            format!("{prefix}/administrations/{id}: {}", reply.body)
        });
        h.ensure(reply.body.get("import_origin_identifier").is_none(), || {
            format!(
                "the opt-in import_origin_identifier is shown by default: {}",
                reply.body
            )
        });
    }
    let full = selection(
        h.spec.required("CustomerApi_V1_AdministrationEntity"),
        &["import_origin_identifier", "last_successful_import_at", "paused_at"],
        &[],
    );
    h.call(Req::get("/v1/administrations/81").fields(full), 200).await;
    h.call(
        Req::get("/api/v1/administrations/81").fields(json!({"only": ["id", "status"]})),
        200,
    )
    .await;
    h.call(Req::get("/v1/administrations/83"), 403).await;
    h.call(Req::get("/api/v1/administrations/99"), 403).await;
    h.call(Req::get("/v1/administrations/abc"), 400).await;
    h.call(Req::get("/v1/administrations/81").q("fields", "not-json"), 400)
        .await;
    h.call(Req::get("/v1/administrations/81").auth(Auth::Missing), 401)
        .await;
    h.call(
        Req::get("/api/v1/administrations/81").auth(Auth::Header("Bearer wrong-token")),
        401,
    )
    .await;
    h.call(Req::get("/v1/administrations/81").auth(Auth::Header(BASIC)), 401)
        .await;
    h.call(Req::new(Method::DELETE, "/v1/administrations/81"), 405).await;
    h.call(Req::new(Method::PATCH, "/api/v1/administrations/81"), 405).await;
}

fn new_administration(name: &str) -> Value {
    json!({
        "administration": {
            "city": "Utrecht",
            "commercial_registration_number": "12345678",
            "contact_name": "Jan Jansen",
            "country_code": "NL",
            "email_address": "administratie@example.nl",
            "house_number": "12a",
            "name": name,
            "postal_code": "3511 AB",
            "street_name": "Oudegracht",
            "bank_account_name": name,
            "bank_account_number": "NL91ABNA0417164300",
            "bank_account_bic": "ABNANL2A",
            "vat_number": "NL123456789B01"
        },
        "connection": {"resource_label": "Shop 1", "resource_identifier": "shop-1"}
    })
}

async fn administration_create(h: &mut Harness) {
    let created = h
        .call(
            Req::post("/v1/administrations").json(new_administration("Spec Test B.V.")),
            201,
        )
        .await;
    let id = created.body["id"].as_str().unwrap_or_default().to_string();
    h.ensure(
        created.body["status"] == "implementation"
            && created.body["bank_account_number"] == "NL91ABNA0417164300"
            && created.body["currency_code"] == "EUR"
            && created.body["timezone"] == "Europe/Amsterdam",
        || {
            format!(
                "the created administration does not reflect the request: {}",
                created.body
            )
        },
    );
    // The new administration is usable and listed at once.
    h.call(Req::get(format!("/v1/administrations/{id}")), 200).await;
    let listed = h.call(Req::get("/api/v1/administrations"), 200).await;
    h.ensure(ids(&data(&listed.body)) == ["81", "82", id.as_str()], || {
        format!("the created administration {id} is not listed: {}", listed.body)
    });
    h.call(Req::get("/v1/debtors").admin(id.parse().unwrap_or(0)), 200)
        .await;

    // A Rails form; an invalid bank account is ignored silently.
    let form = "administration[city]=Gouda&administration[commercial_registration_number]=87654321\
        &administration[contact_name]=Piet+Pieters&administration[country_code]=nl\
        &administration[email_address]=info%40kaas.example&administration[house_number]=1\
        &administration[name]=Kaas+B.V.&administration[postal_code]=2801+AA\
        &administration[street_name]=Markt&administration[bank_account_name]=Kaas\
        &administration[bank_account_number]=NL00BANK0000000000&administration[bank_account_bic]=XXXX\
        &administration[currency_code]=EUR&administration[timezone]=Europe%2FBrussels\
        &connection[resource_label]=Kaas&connection[resource_identifier]=kaas-1";
    let created = h.call(Req::post("/api/v1/administrations").body(FORM, form), 201).await;
    h.ensure(
        created.body["bank_account_number"].is_null()
            && created.body["country_code"] == "NL"
            && created.body["timezone"] == "Europe/Brussels",
        || format!("the form-created administration is wrong: {}", created.body),
    );

    // Validation: 422, nothing created.
    let mut without_city = new_administration("X");
    without_city["administration"].as_object_mut().map(|a| a.remove("city"));
    let mut bad_email = new_administration("X");
    bad_email["administration"]["email_address"] = json!("not-an-email");
    let mut bad_country = new_administration("X");
    bad_country["administration"]["country_code"] = json!("Netherlands");
    let mut bad_timezone = new_administration("X");
    bad_timezone["administration"]["timezone"] = json!("Amsterdam");
    let mut bad_connection = new_administration("X");
    bad_connection["connection"] = json!({"resource_label": "only a label"});
    for body in [
        json!({}),
        json!({"administration": "x"}),
        without_city,
        bad_email,
        bad_country,
        bad_timezone,
        bad_connection,
    ] {
        h.call(Req::post("/v1/administrations").json(body), 422).await;
    }
    h.call(
        Req::post("/v1/administrations").body(JSON, r#"{"administration": {"#),
        422,
    )
    .await;
    h.call(
        Req::post("/v1/administrations")
            .auth(Auth::Header("Bearer parties-read-only"))
            .json(new_administration("X")),
        403,
    )
    .await;
    h.call(
        Req::post("/v1/administrations")
            .auth(Auth::Missing)
            .json(new_administration("X")),
        401,
    )
    .await;
    h.call(Req::new(Method::PUT, "/v1/administrations"), 405).await;
    let listed = h.call(Req::get("/v1/administrations"), 200).await;
    h.ensure(data(&listed.body).len() == 4, || {
        format!("a rejected POST created an administration: {}", listed.body)
    });
}

async fn companies(h: &mut Harness) {
    for prefix in PREFIXES {
        let reply = h
            .call(Req::get(format!("{prefix}/companies")).auth(Auth::Header(BASIC)), 200)
            .await;
        h.ensure(!data(&reply.body).is_empty(), || {
            format!("{prefix}/companies lists nothing: {}", reply.body)
        });
    }
    let listed = h
        .call(
            Req::get("/v1/companies").auth(Auth::Header(BASIC)).q("per_page", 1),
            200,
        )
        .await;
    let id = ids(&data(&listed.body)).into_iter().next().unwrap_or_default();
    let shown = h
        .call(
            Req::get(format!("/api/v1/companies/{id}")).auth(Auth::Header(BASIC)),
            200,
        )
        .await;
    h.ensure(shown.body["status"] == "active" && shown.body["trial"] == false, || {
        format!("the fixture company: {}", shown.body)
    });
    h.call(
        Req::get("/v1/companies")
            .auth(Auth::Header(BASIC))
            .fields(json!({"only": ["id", "name"]})),
        200,
    )
    .await;
    h.call(
        Req::get(format!("/v1/companies/{id}"))
            .auth(Auth::Header(BASIC))
            .fields(json!({"only": ["id", "trial_ends_on"]})),
        200,
    )
    .await;
    h.call(Req::get("/v1/companies/999999999").auth(Auth::Header(BASIC)), 404)
        .await;
    h.call(Req::get("/v1/companies/nope").auth(Auth::Header(BASIC)), 404)
        .await;
    for (param, value) in [("per_page", "0"), ("cursor", "abc"), ("fields", "not-json")] {
        h.call(Req::get("/v1/companies").auth(Auth::Header(BASIC)).q(param, value), 400)
            .await;
    }
    // Bearer tokens, missing or wrong credentials: 401.
    h.call(Req::get("/v1/companies"), 401).await;
    h.call(Req::get(format!("/v1/companies/{id}")), 401).await;
    h.call(Req::get("/api/v1/companies").auth(Auth::Missing), 401).await;
    h.call(Req::get("/v1/companies").auth(Auth::Header(BASIC_WRONG)), 401)
        .await;
    h.call(Req::get("/v1/companies").auth(Auth::Header("Basic !!!")), 401)
        .await;
    h.call(Req::new(Method::POST, "/v1/companies").auth(Auth::Header(BASIC)), 405)
        .await;
}

async fn debtors(h: &mut Harness) {
    let r = Resource {
        name: "debtors",
        full: selection(
            h.spec.required("CustomerApi_V1_DebtorEntity"),
            &[
                "book_open_amount",
                "autogenerated_credit_limit_amount",
                "external_credit_limit_amount",
                "external_credit_limit_currency_code",
                "public_url",
                "deeplink_url",
                "internal_note_email_address",
                "payment_behaviour",
                "peppol_identifier",
                "remark",
                "peppol_enabled",
                "credit_limit_amount",
                "paused_at",
            ],
            &[
                ("labels", h.spec.required("CustomerApi_V1_LabelEntity")),
                ("postal_address", h.spec.required("CustomerApi_V1_AddressEntity")),
            ],
        ),
        opt_in: &[
            "book_open_amount",
            "public_url",
            "deeplink_url",
            "internal_note_email_address",
            "labels",
            "payment_behaviour",
            "remark",
        ],
        narrow: json!({"only": ["id", "book_open_amount", {"postal_address": ["city"]}, {"labels": ["name"]}]}),
    };
    let full = list_and_show(h, &r).await;
    let first = &full[0];
    let number = first["debtor_number"].as_str().unwrap_or_default().to_string();
    let identifier = first["debtor_identifier"].as_str().unwrap_or_default().to_string();
    let second_number = full[5]["debtor_number"].as_str().unwrap_or_default().to_string();
    filter(
        h,
        "debtors",
        &full,
        "debtor_numbers",
        &format!("{number},{second_number}"),
        |d| d["debtor_number"] == number.as_str() || d["debtor_number"] == second_number.as_str(),
    )
    .await;
    filter(h, "debtors", &full, "debtor_identifiers", &identifier, |d| {
        d["debtor_identifier"] == identifier.as_str()
    })
    .await;

    // identifier_type.
    for (prefix, kind, key) in [
        ("/v1", "debtor_number", &number),
        ("/api/v1", "debtor_identifier", &identifier),
    ] {
        let reply = h
            .call(
                Req::get(format!("{prefix}/debtors/{key}"))
                    .admin(81)
                    .q("identifier_type", kind),
                200,
            )
            .await;
        h.ensure(reply.body == *first, || {
            format!("debtor by {kind} {key}: {} vs {first}", reply.body)
        });
    }
    let id = first["id"].as_str().unwrap_or_default();
    h.call(
        Req::get(format!("/v1/debtors/{id}")).admin(81).q("identifier_type", ""),
        200,
    )
    .await;
    h.call(
        Req::get(format!("/v1/debtors/{id}"))
            .admin(81)
            .q("identifier_type", "email"),
        400,
    )
    .await;
    h.call(
        Req::get("/v1/debtors/NO-SUCH-NUMBER")
            .admin(81)
            .q("identifier_type", "debtor_number"),
        404,
    )
    .await;
    h.call(
        Req::get(format!("/v1/debtors/{identifier}"))
            .admin(82)
            .q("identifier_type", "debtor_identifier"),
        404,
    )
    .await;
    h.call(
        Req::get(format!("/v1/debtors/{number}"))
            .admin(81)
            .q("identifier_type", "debtor_number")
            .fields(json!({"only": ["id", "labels", "public_url"]})),
        200,
    )
    .await;
}

async fn debtor_upsert(h: &mut Harness) {
    let body = json!({
        "administration_id": "81",
        "debtors": [
            {"debtor_number": "SPEC-1", "name": "Spec Een B.V.", "debtor_identifier": "spec-id-1",
             "country_code": "BE", "language_code": "nl", "labels": ["vip", "export"], "is_company": true,
             "peppol_enabled": null, "coc_number": "12345678", "vat_number": "BE0123456789"},
            {"debtor_number": "SPEC-2", "name": "Spec Twee", "debtor_identifier": "spec-id-2",
             "bank_account_number": "NL00INVALID", "bank_account_name": "Twee"},
            {"debtor_number": "SPEC-3", "debtor_identifier": "spec-id-3"},
            {"debtor_number": "SPEC-4", "name": "Vier", "debtor_identifier": "spec-id-4", "country_code": "Belgium"},
            {"debtor_number": "SPEC-5", "name": "Vijf", "debtor_identifier": "spec-id-5", "contact_identifier": "NO-SUCH-CONTACT"}
        ]
    });
    let reply = h.call(Req::post("/v1/debtors").json(body), 201).await;
    h.ensure(
        reply.body
            == json!({
                "success": true, "count": 2,
                "errors": {"SPEC-3": ["missing_name"], "SPEC-4": ["invalid_country_code"], "SPEC-5": ["contact_not_found"]},
                "warnings": {"SPEC-2": ["invalid_bank_account_number"]}
            }),
        || format!("the debtor upsert outcome: {}", reply.body),
    );
    let created = h
        .call(
            Req::get("/v1/debtors/SPEC-1")
                .admin(81)
                .q("identifier_type", "debtor_number")
                .fields(
                    json!({"only": ["id", "name", "labels", "book_open_amount", {"postal_address": ["country_code"]}]}),
                ),
            200,
        )
        .await;
    h.ensure(
        created.body["labels"] == json!([{"name": "vip"}, {"name": "export"}])
            && created.body["book_open_amount"] == "0.00"
            && created.body["postal_address"]["country_code"] == "BE",
        || format!("the created debtor: {}", created.body),
    );
    // Form, /api/v1: an update by identifier renames; no labels key keeps the labels.
    let reply = h
        .call(
            Req::post("/api/v1/debtors").body(
                FORM,
                "administration_id=81&debtors[][debtor_number]=SPEC-1&debtors[][name]=Spec+Een+Renamed\
                 &debtors[][debtor_identifier]=spec-id-1&debtors[][is_company]=true",
            ),
            201,
        )
        .await;
    h.ensure(reply.body == json!({"success": true, "count": 1, "errors": {}}), || {
        format!("form upsert: {}", reply.body)
    });
    h.call(
        Req::post("/v1/debtors").json(json!({"administration_id": 81, "debtors": []})),
        201,
    )
    .await;
    // All records rejected: success false, still 201.
    let reply = h
        .call(
            Req::post("/v1/debtors").json(json!({"administration_id": 81, "debtors": [{"name": "x"}, 5]})),
            201,
        )
        .await;
    h.ensure(reply.body["success"] == false, || {
        format!("all rejected: {}", reply.body)
    });
    for body in [
        json!({"administration_id": 81}),
        json!({"administration_id": 81, "debtors": "x"}),
        json!({"debtors": []}),
        json!({"administration_id": "abc", "debtors": []}),
    ] {
        h.call(Req::post("/v1/debtors").json(body), 422).await;
    }
    h.call(Req::post("/v1/debtors").body(JSON, "{"), 422).await;
    h.call(
        Req::post("/v1/debtors").json(json!({"administration_id": 83, "debtors": []})),
        403,
    )
    .await;
    h.call(
        Req::post("/v1/debtors")
            .auth(Auth::Header("Bearer parties-read-only"))
            .json(json!({"administration_id": 81, "debtors": []})),
        403,
    )
    .await;
    h.call(
        Req::post("/api/v1/debtors")
            .auth(Auth::Missing)
            .json(json!({"administration_id": 81, "debtors": []})),
        401,
    )
    .await;
    h.call(Req::post("/v1/debtors").body("text/plain", "debtors"), 415)
        .await;
    h.call(Req::new(Method::PATCH, "/v1/debtors").admin(81), 405).await;
}

async fn contacts(h: &mut Harness) {
    // The contact entity has no administration_id, so `list_and_show` does not apply.
    let mut all = Vec::new();
    for prefix in PREFIXES {
        let reply = h
            .call(Req::get(format!("{prefix}/contacts")).admin(81).q("per_page", 500), 200)
            .await;
        all.push(data(&reply.body));
    }
    let full = all.swap_remove(0);
    h.ensure(full == all[0] && full.len() >= 40, || {
        format!("contacts of 81: {} (api/v1: {})", full.len(), all[0].len())
    });
    let full_ids = ids(&full);
    // Paging by 30 to the end.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..=full.len() / 30 + 1 {
        let mut req = Req::get("/v1/contacts").admin(81).q("per_page", 30);
        if let Some(c) = &next {
            req = req.q("cursor", c);
        }
        let page = h.call(req, 200).await;
        seen.extend(ids(&data(&page.body)));
        next = cursor(&page.body);
        if next.is_none() {
            break;
        }
    }
    h.ensure(seen == full_ids, || "contacts: paging by 30 differs".to_string());
    let linked = full
        .iter()
        .find(|c| c["debtor_numbers"].as_array().is_some_and(|n| !n.is_empty()))
        .cloned()
        .unwrap_or_default();
    let number = linked["debtor_numbers"][0].as_str().unwrap_or_default().to_string();
    let identifier = linked["contact_identifier"].as_str().unwrap_or_default().to_string();
    filter(h, "contacts", &full, "debtor_numbers", &number, |c| {
        c["debtor_numbers"]
            .as_array()
            .is_some_and(|n| n.iter().any(|x| x == number.as_str()))
    })
    .await;
    filter(h, "contacts", &full, "contact_identifiers", &identifier, |c| {
        c["contact_identifier"] == identifier.as_str()
    })
    .await;
    let wanted = [full_ids[1].clone(), full_ids[4].clone()];
    filter(h, "contacts", &full, "ids", &wanted.join(","), |c| {
        wanted.iter().any(|w| c["id"] == w.as_str())
    })
    .await;
    let mut stamps: Vec<&str> = full.iter().filter_map(|c| c["updated_at"].as_str()).collect();
    stamps.sort_unstable();
    let after = stamps[stamps.len() / 2].to_string();
    filter(h, "contacts", &full, "updated_after", &after, |c| {
        c["updated_at"].as_str().unwrap_or_default() > after.as_str()
    })
    .await;
    h.ensure(
        full.iter()
            .any(|c| c["validation_errors"].as_object().is_some_and(|e| !e.is_empty())),
        || "no fixture contact has validation errors".to_string(),
    );
    h.call(
        Req::get("/api/v1/contacts")
            .admin(81)
            .q("per_page", 3)
            .fields(json!({"only": ["id", "debtor_numbers", "validation_errors", "updated_at"]})),
        200,
    )
    .await;
    let other = h.call(Req::get("/v1/contacts").admin(82).q("per_page", 1), 200).await;
    let other_id = ids(&data(&other.body)).into_iter().next().unwrap_or_default();
    let reply = h
        .call(Req::get("/v1/contacts").admin(81).q("ids", &other_id), 200)
        .await;
    h.ensure(data(&reply.body).is_empty(), || {
        format!("a contact of 82 is listed under 81: {}", reply.body)
    });

    // Errors.
    h.call(Req::get("/v1/contacts").admin(83), 403).await;
    h.call(Req::get("/v1/contacts"), 400).await;
    for (param, value) in [
        ("per_page", "501"),
        ("cursor", "x"),
        ("updated_after", "soon"),
        ("fields", "{"),
    ] {
        h.call(Req::get("/v1/contacts").admin(81).q(param, value), 400).await;
    }
    h.call(Req::get("/v1/contacts").admin(81).auth(Auth::Missing), 401)
        .await;
    h.call(Req::new(Method::DELETE, "/v1/contacts").admin(81), 405).await;

    // The upsert: 201 without a schema in the spec (a SuccessEntity, checked here by hand).
    let reply = h
        .call(
            Req::post("/v1/contacts").json(json!({
                "administration_id": "81",
                "contacts": [
                    {"contact_identifier": "SPEC-C1", "firstname": "Anna", "lastname": "Berg", "infix": "van den",
                     "gender": "female", "default_email_address": "anna@example.nl", "postal_address_city": "Delft",
                     "postal_address_country_code": "nl", "birth_date": "1980-02-29"},
                    {"contact_identifier": "SPEC-C2", "invoice_email_address": "not-an-address"},
                    {"contact_identifier": "SPEC-C3", "gender": "other"},
                    {"id": "999999999", "firstname": "Nobody"}
                ]
            })),
            201,
        )
        .await;
    h.ensure(
        reply.body
            == json!({
                "success": true, "count": 2,
                "errors": {"SPEC-C3": ["invalid_gender"], "999999999": ["contact_not_found"]},
                "warnings": {"SPEC-C2": ["invalid_invoice_email_address"]}
            }),
        || format!("the contact upsert outcome: {}", reply.body),
    );
    let listed = h
        .call(
            Req::get("/api/v1/contacts")
                .admin(81)
                .q("contact_identifiers", "SPEC-C1,SPEC-C2"),
            200,
        )
        .await;
    let got = data(&listed.body);
    h.ensure(
        got.len() == 2
            && got[0]["postal_address_country_code"] == "NL"
            && got[1]["validation_errors"] == json!({"invoice_email_address": ["is invalid"]}),
        || format!("the upserted contacts: {}", listed.body),
    );
    h.call(
        Req::post("/api/v1/contacts").body(
            FORM,
            "administration_id=81&contacts[][contact_identifier]=SPEC-C1&contacts[][firstname]=Anne",
        ),
        201,
    )
    .await;
    for body in [
        json!({"administration_id": 81}),
        json!({"administration_id": 81, "contacts": {"a": 1}}),
        json!({"contacts": []}),
    ] {
        h.call(Req::post("/v1/contacts").json(body), 422).await;
    }
    h.call(
        Req::post("/v1/contacts").json(json!({"administration_id": 83, "contacts": []})),
        403,
    )
    .await;
    h.call(
        Req::post("/v1/contacts")
            .auth(Auth::Header("Bearer parties-read-only"))
            .json(json!({"administration_id": 81, "contacts": []})),
        403,
    )
    .await;
    h.call(
        Req::post("/v1/contacts")
            .auth(Auth::Missing)
            .json(json!({"administration_id": 81, "contacts": []})),
        401,
    )
    .await;
}

const SIGN_UP_FORM: &str = "administration[city]=Amersfoort&administration[commercial_registration_number]=11223344\
    &administration[country_code]=NL&administration[email_address]=info%40nieuw.example\
    &administration[house_number]=7&administration[name]=Nieuw+B.V.&administration[phone_number]=%2B31+33+1234567\
    &administration[postal_code]=3811+AA&administration[street_name]=Hof\
    &user[first_name]=Eva&user[last_name]=de+Wit&user[email_address]=eva%40nieuw.example&user[locale]=nl\
    &connection[resource_label]=Nieuw&connection[resource_identifier]=nieuw-1";

async fn sign_up(h: &mut Harness) {
    let reply = h
        .call(
            Req::post("/v1/sign_up")
                .auth(Auth::Header(BASIC))
                .body(FORM, SIGN_UP_FORM),
            201,
        )
        .await;
    let b = &reply.body;
    h.ensure(
        b["company"]["status"] == "unconfirmed"
            && b["company"]["trial"] == true
            && b["administration"]["contact_name"] == "Eva de Wit"
            && b["user"]["email_address"] == "eva@nieuw.example"
            && b["access_grant"]["grant_type"] == "authorization_code"
            && b["access_grant"]["created_at"]
                .as_str()
                .is_some_and(|t| t.parse::<i64>().is_ok())
            && b["user"]["sign_up_url"]
                .as_str()
                .is_some_and(|u| u.starts_with(&format!("{}/_mock/payt/", h.base))),
        || format!("the sign-up answer: {b}"),
    );
    let company = b["company"]["id"].as_str().unwrap_or_default().to_string();
    h.call(
        Req::get(format!("/v1/companies/{company}")).auth(Auth::Header(BASIC)),
        200,
    )
    .await;
    // JSON with the same nesting, under /api/v1.
    h.call(
        Req::post("/api/v1/sign_up").auth(Auth::Header(BASIC)).json(json!({
            "administration": {"city": "Breda", "commercial_registration_number": "99887766", "country_code": "NL",
                               "email_address": "info@json.example", "house_number": "1", "name": "Json B.V.",
                               "phone_number": "076 1234567", "postal_code": "4811 AA", "street_name": "Grote Markt"},
            "user": {"first_name": "Kees", "last_name": "Smit", "email_address": "kees@json.example"},
            "connection": {"resource_label": "Json", "resource_identifier": "json-1"}
        })),
        201,
    )
    .await;
    // The same user again, a missing key, a bad locale: 422.
    h.call(
        Req::post("/v1/sign_up")
            .auth(Auth::Header(BASIC))
            .body(FORM, SIGN_UP_FORM),
        422,
    )
    .await;
    let without_phone = SIGN_UP_FORM.replace("&administration[phone_number]=%2B31+33+1234567", "");
    let bad_locale = SIGN_UP_FORM.replace("user[locale]=nl", "user[locale]=pt");
    let without_connection = SIGN_UP_FORM.replace("&connection[resource_label]=Nieuw", "");
    for form in [without_phone, bad_locale, without_connection, String::new()] {
        h.call(Req::post("/v1/sign_up").auth(Auth::Header(BASIC)).body(FORM, form), 422)
            .await;
    }
    // Bearer, missing or wrong credentials: 401.
    h.call(Req::post("/v1/sign_up").body(FORM, SIGN_UP_FORM), 401).await;
    h.call(
        Req::post("/v1/sign_up").auth(Auth::Missing).body(FORM, SIGN_UP_FORM),
        401,
    )
    .await;
    h.call(
        Req::post("/api/v1/sign_up")
            .auth(Auth::Header(BASIC_WRONG))
            .body(FORM, SIGN_UP_FORM),
        401,
    )
    .await;
    h.call(Req::get("/v1/sign_up").auth(Auth::Header(BASIC)), 405).await;
}
