//! Behaviour of administrations, companies, contacts, debtors and sign-up that needs a look inside
//! the mock: upsert matching, per-record errors and warnings, what a write does to related records,
//! `updated_at`, grants and scopes.

use mock_payt::MockPayt;
use mock_payt::state::Grant;
use serde_json::{Value, json};

const BASIC_USER: &str = mock_payt::resources::companies::CLIENT_ID;
const BASIC_PASS: &str = mock_payt::resources::companies::CLIENT_SECRET;

struct T {
    m: MockPayt,
    http: reqwest::Client,
}

impl T {
    async fn new() -> Self {
        Self {
            m: MockPayt::test()
                .seed(11)
                .clock(mock_core::Clock::frozen(
                    chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
                        .expect("a timestamp")
                        .with_timezone(&chrono::Utc),
                ))
                .start()
                .await,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.m.uri())).bearer_auth(token))
            .await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}{path}", self.m.uri()))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    async fn debtor(&self, number: &str) -> Value {
        let (status, body) = self
            .get(
                &format!(
                    "/v1/debtors/{number}?administration_id=81&identifier_type=debtor_number&fields={}",
                    urlencode(r#"{"only":["id","name","debtor_number","debtor_identifier","labels","updated_at","primary_email_address","invoice_email_address","call_phone_number","postal_address","book_open_amount","peppol_enabled","remark"]}"#)
                ),
                self.m.token(),
            )
            .await;
        assert_eq!(status, 200, "debtor {number}: {body}");
        body
    }

    async fn debtors(&self, records: Value) -> Value {
        let (status, body) = self
            .post(
                "/v1/debtors",
                self.m.token(),
                json!({"administration_id": 81, "debtors": records}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    async fn contacts(&self, records: Value) -> Value {
        let (status, body) = self
            .post(
                "/v1/contacts",
                self.m.token(),
                json!({"administration_id": "81", "contacts": records}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    async fn contact(&self, identifier: &str) -> Value {
        let (status, body) = self
            .get(
                &format!("/v1/contacts?administration_id=81&contact_identifiers={identifier}"),
                self.m.token(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"][0].clone()
    }

    /// Moves the mock's clock forward so `updated_at` can move.
    fn tick(&self) {
        self.m.state().clock.advance(chrono::Duration::seconds(5));
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn limited(scopes: &[&str], admins: Option<&[u64]>) -> Grant {
    Grant {
        administrations: admins.map(|a| a.iter().copied().collect()),
        scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
    }
}

// ------------------------------------------------------------------------------------------------
// Debtors

#[tokio::test]
async fn debtor_upsert_creates_then_updates_by_identifier_then_by_number() {
    let t = T::new().await;
    let out = t
        .debtors(json!([{"debtor_number": "D-1", "name": "Een", "debtor_identifier": "ext-1", "labels": ["a", "b"], "remark": "eerste"}]))
        .await;
    assert_eq!(out, json!({"success": true, "count": 1, "errors": {}}));
    let created = t.debtor("D-1").await;
    assert_eq!(created["labels"], json!([{"name": "a"}, {"name": "b"}]));
    assert_eq!(created["book_open_amount"], "0.00");
    assert_eq!(
        created["postal_address"]["country_code"], "NL",
        "the administration's country"
    );
    let id = created["id"].clone();

    // Same identifier, new number: the number changes (match by identifier).
    t.tick();
    t.debtors(json!([{"debtor_number": "D-1b", "name": "Een", "debtor_identifier": "ext-1"}]))
        .await;
    let renamed = t.debtor("D-1b").await;
    assert_eq!(renamed["id"], id);
    assert_eq!(renamed["labels"], created["labels"], "labels omitted: unchanged");
    assert_eq!(renamed["remark"], "eerste", "omitted optional keys stay");
    assert!(renamed["updated_at"].as_str() > created["updated_at"].as_str());

    // Unknown identifier, known number: matched by number, takes the new identifier.
    t.tick();
    t.debtors(json!([{"debtor_number": "D-1b", "name": "Een", "debtor_identifier": "ext-1-new", "labels": []}]))
        .await;
    let moved = t.debtor("D-1b").await;
    assert_eq!(moved["id"], id);
    assert_eq!(moved["debtor_identifier"], "ext-1-new");
    assert_eq!(moved["labels"], json!([]), "labels given: full replace");

    // Reposting the same values changes nothing, so updated_at stays.
    t.tick();
    t.debtors(json!([{"debtor_number": "D-1b", "name": "Een", "debtor_identifier": "ext-1-new"}]))
        .await;
    assert_eq!(t.debtor("D-1b").await["updated_at"], moved["updated_at"]);

    // Explicit null clears; peppol_enabled null means "administration setting".
    t.debtors(json!([{"debtor_number": "D-1b", "name": "Een", "debtor_identifier": "ext-1-new", "remark": null, "peppol_enabled": true}]))
        .await;
    let d = t.debtor("D-1b").await;
    assert_eq!(
        (d["remark"].clone(), d["peppol_enabled"].clone()),
        (Value::Null, json!(true))
    );
}

#[tokio::test]
async fn debtor_upsert_reports_each_record() {
    let t = T::new().await;
    let existing =
        t.m.state()
            .store
            .read(|db| db.debtors.iter(&81).next().map(|d| d.debtor_number.clone()))
            .expect("a fixture debtor");
    let out = t
        .debtors(json!([
            {"debtor_number": "OK-1", "name": "Goed", "debtor_identifier": "ok-1"},
            {"name": "Geen nummer", "debtor_identifier": "nr-less"},
            {"debtor_number": "E-2"},
            {"debtor_number": "E-3", "name": "Taal", "debtor_identifier": "e-3", "language_code": "dutch", "is_company": "maybe"},
            {"debtor_number": existing, "name": "Dubbel", "debtor_identifier": "ok-1"},
            {"debtor_number": "E-5", "name": "Peppol", "debtor_identifier": "e-5", "peppol_identifier": "12345"},
            {"debtor_number": "E-6", "name": "Labels", "debtor_identifier": "e-6", "labels": [1]},
            {"debtor_number": "W-7", "name": "Bank", "debtor_identifier": "w-7", "bank_account_number": "NL91ABNA0417164301"},
            "not an object"
        ]))
        .await;
    assert_eq!(out["success"], true);
    assert_eq!(out["count"], 2);
    let errors = &out["errors"];
    assert_eq!(errors["nr-less"], json!(["missing_debtor_number"]));
    assert_eq!(errors["E-2"], json!(["missing_name", "missing_debtor_identifier"]));
    assert_eq!(errors["E-3"], json!(["invalid_language_code", "invalid_is_company"]));
    assert_eq!(errors[existing.as_str()], json!(["debtor_number_taken"]));
    assert_eq!(errors["E-5"], json!(["invalid_peppol_identifier"]));
    assert_eq!(errors["E-6"], json!(["invalid_labels"]));
    assert_eq!(errors["debtors[8]"], json!(["invalid_debtor"]));
    assert_eq!(out["warnings"], json!({"W-7": ["invalid_bank_account_number"]}));
    // Rejected records wrote nothing.
    let (status, _) = t
        .get(
            "/v1/debtors/E-3?administration_id=81&identifier_type=debtor_number",
            t.m.token(),
        )
        .await;
    assert_eq!(status, 404);
    // Top-level problems are 422 and nothing is processed.
    let (status, err) = t
        .post("/v1/debtors", t.m.token(), json!({"administration_id": 81}))
        .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("missing_parameter")));
}

#[tokio::test]
async fn debtor_lookups_and_book_open_amount() {
    let t = T::new().await;
    let (id, number, identifier, open) =
        t.m.state()
            .store
            .read(|db| {
                let d = db.debtors.iter(&81).find(|d| {
                    db.invoices
                        .iter(&81)
                        .any(|i| i.debtor_id == d.id && !i.open_amount.is_zero())
                })?;
                let open: rust_decimal::Decimal = db
                    .invoices
                    .iter(&81)
                    .filter(|i| i.debtor_id == d.id)
                    .map(|i| i.open_amount)
                    .sum();
                Some((d.id, d.debtor_number.clone(), d.debtor_identifier.clone(), open))
            })
            .expect("a debtor with open invoices");
    let by_number = t.debtor(&number).await;
    assert_eq!(by_number["id"], id.to_string());
    assert_eq!(by_number["book_open_amount"], format!("{:.2}", open));
    for (path, status) in [
        (
            format!("/v1/debtors/{identifier}?administration_id=81&identifier_type=debtor_identifier"),
            200,
        ),
        (format!("/v1/debtors/{id}?administration_id=81"), 200),
        (format!("/v1/debtors/{number}?administration_id=81"), 404),
        (
            format!("/v1/debtors/{id}?administration_id=81&identifier_type=debtor_number"),
            404,
        ),
        (
            format!("/v1/debtors/{id}?administration_id=81&identifier_type=uuid"),
            400,
        ),
        (format!("/v1/debtors/{id}?administration_id=83"), 403),
    ] {
        let (got, body) = t.get(&path, t.m.token()).await;
        assert_eq!(got, status, "{path}: {body}");
    }
    // The default set hides the opt-in fields but always shows every other key.
    let (_, d) = t
        .get(&format!("/v1/debtors/{id}?administration_id=81"), t.m.token())
        .await;
    for hidden in [
        "book_open_amount",
        "labels",
        "public_url",
        "remark",
        "payment_behaviour",
        "peppol_enabled",
    ] {
        assert!(d.get(hidden).is_none(), "{hidden} shown by default");
    }
    for shown in [
        "credit_limit_amount",
        "paused_at",
        "reminding_paused_at",
        "vat_number",
        "postal_address",
    ] {
        assert!(d.get(shown).is_some(), "{shown} missing from the default set");
    }
}

// ------------------------------------------------------------------------------------------------
// Contacts and their debtors

#[tokio::test]
async fn contacts_link_to_debtors_and_feed_their_addresses() {
    let t = T::new().await;
    let out = t
        .contacts(
            json!([{"contact_identifier": "K-1", "firstname": "Mila", "lastname": "Jansen",
                          "default_email_address": "mila@example.nl", "invoice_email_address": "facturen@example.nl",
                          "call_phone_number": "+31 30 1234567", "postal_address_street_1": "Lange Nieuwstraat 1",
                          "postal_address_postal_code": "3512 PA", "postal_address_city": "Utrecht",
                          "postal_address_country_code": "NL"}]),
        )
        .await;
    assert_eq!(out, json!({"success": true, "count": 1, "errors": {}}));
    let before = t.contact("K-1").await;
    assert_eq!(before["debtor_numbers"], json!([]));

    // Linking a debtor: the debtor takes the contact's addresses; the contact lists the debtor.
    t.tick();
    t.debtors(
        json!([{"debtor_number": "KD-1", "name": "Klant", "debtor_identifier": "kd-1", "contact_identifier": "K-1"}]),
    )
    .await;
    let d = t.debtor("KD-1").await;
    assert_eq!(d["primary_email_address"], "mila@example.nl");
    assert_eq!(d["invoice_email_address"], "facturen@example.nl");
    assert_eq!(d["call_phone_number"], "+31 30 1234567");
    assert_eq!(d["postal_address"]["city"], "Utrecht");
    assert_eq!(d["postal_address"]["street_1"], "Lange Nieuwstraat 1");
    let linked = t.contact("K-1").await;
    assert_eq!(linked["debtor_numbers"], json!(["KD-1"]));
    assert!(
        linked["updated_at"].as_str() > before["updated_at"].as_str(),
        "the contact's debtor_numbers changed"
    );
    let (_, by_number) = t
        .get("/v1/contacts?administration_id=81&debtor_numbers=KD-1", t.m.token())
        .await;
    assert_eq!(by_number["data"].as_array().map(Vec::len), Some(1));

    // Updating the contact (by id this time) moves the linked debtor.
    t.tick();
    let id = linked["id"].as_str().expect("id").to_string();
    t.contacts(json!([{"id": id, "default_email_address": "mila.jansen@example.nl", "postal_address_city": "Zeist"}]))
        .await;
    let d2 = t.debtor("KD-1").await;
    assert_eq!(d2["primary_email_address"], "mila.jansen@example.nl");
    assert_eq!(d2["postal_address"]["city"], "Zeist");
    assert!(d2["updated_at"].as_str() > d["updated_at"].as_str());
    assert_eq!(t.contact("K-1").await["firstname"], "Mila", "omitted keys stay");

    // Unlinking (contact_identifier null) empties the contact's debtor_numbers.
    t.debtors(
        json!([{"debtor_number": "KD-1", "name": "Klant", "debtor_identifier": "kd-1", "contact_identifier": null}]),
    )
    .await;
    assert_eq!(t.contact("K-1").await["debtor_numbers"], json!([]));
}

#[tokio::test]
async fn contact_upsert_matching_errors_and_validation_errors() {
    let t = T::new().await;
    let out = t
        .contacts(json!([
            {"contact_identifier": "V-1", "reminder_email_address": "kapot@", "postal_address_country_code": "Nederland"},
            {"contact_identifier": "V-2", "gender": "x"},
            {"contact_identifier": "V-3", "birth_date": "31-12-1980"},
            {"id": "12", "firstname": "Niemand"},
            {"firstname": "Zonder sleutel"}
        ]))
        .await;
    assert_eq!(out["count"], 2);
    assert_eq!(
        out["errors"],
        json!({"V-2": ["invalid_gender"], "V-3": ["invalid_birth_date"], "12": ["contact_not_found"]})
    );
    assert_eq!(
        out["warnings"],
        json!({"V-1": ["invalid_postal_address_country_code", "invalid_reminder_email_address"]})
    );
    let v1 = t.contact("V-1").await;
    assert_eq!(v1["reminder_email_address"], "kapot@", "stored although invalid");
    assert_eq!(v1["validation_errors"]["reminder_email_address"], json!(["is invalid"]));
    // Fixing the value clears its validation error.
    t.contacts(json!([{"contact_identifier": "V-1", "reminder_email_address": "goed@example.nl", "postal_address_country_code": "be"}]))
        .await;
    let fixed = t.contact("V-1").await;
    assert_eq!(fixed["validation_errors"], json!({}));
    assert_eq!(fixed["postal_address_country_code"], "BE");
    // A contact created without identifier got an id of its own.
    let keyless = t.m.state().store.read(|db| {
        db.contacts
            .iter(&81)
            .any(|c| c.firstname.as_deref() == Some("Zonder sleutel") && c.contact_identifier.is_none())
    });
    assert!(keyless);
    // An id with the identifier of another contact is refused.
    let other_id = fixed["id"].as_str().expect("id").to_string();
    t.contacts(json!([{"contact_identifier": "V-9"}])).await;
    let out = t.contacts(json!([{"id": other_id, "contact_identifier": "V-9"}])).await;
    assert_eq!(out["errors"], json!({"V-9": ["contact_identifier_taken"]}));
}

#[tokio::test]
async fn fixtures_relate_contacts_and_debtors() {
    let t = T::new().await;
    t.m.state().store.read(|db| {
        for admin in [81u64, 82, 83] {
            let debtors = db.debtors.scope_len(&admin);
            let linked = db.debtors.iter(&admin).filter(|d| d.contact_id.is_some()).count();
            assert!(
                linked * 2 > debtors,
                "admin {admin}: only {linked} of {debtors} debtors have a contact"
            );
            for d in db.debtors.iter(&admin) {
                if let Some(c) = d.contact_id {
                    assert!(db.contacts.get(&admin, &c.to_string()).is_some());
                }
                assert!(!d.public_url.is_empty() && d.language_code.is_some());
            }
            assert!(db.contacts.scope_len(&admin) >= 40);
        }
        assert_eq!(db.companies.len(), 1);
        let company = db.companies.iter(&()).next().expect("the company");
        assert_eq!(company.administration_ids, [81, 82, 83]);
    });
}

// ------------------------------------------------------------------------------------------------
// Administrations, companies, sign-up

fn administration_body(name: &str) -> Value {
    json!({"administration": {
        "city": "Utrecht", "commercial_registration_number": "12345678", "contact_name": "Jan",
        "country_code": "NL", "email_address": "a@example.nl", "house_number": "1", "name": name,
        "postal_code": "3511 AB", "street_name": "Oudegracht",
        "bank_account_name": name, "bank_account_number": "NL91ABNA0417164300", "bank_account_bic": "INGBNL2A"
    }, "connection": {"resource_label": "R", "resource_identifier": "r-1"}})
}

#[tokio::test]
async fn a_created_administration_is_granted_to_its_creator_only() {
    let t = T::new().await;
    t.m.state().tokens.insert(
        "creator",
        limited(
            &["administrations:read", "administrations:write", "debtors:read"],
            Some(&[81]),
        ),
    );
    t.m.state()
        .tokens
        .insert("bystander", limited(&["administrations:read"], Some(&[81])));
    let (status, admin) = t
        .post("/v1/administrations", "creator", administration_body("Nieuw"))
        .await;
    assert_eq!(status, 201, "{admin}");
    // The BIC does not belong to the IBAN's bank: the bank account is ignored, the rest kept.
    assert_eq!(admin["bank_account_number"], Value::Null);
    assert_eq!(admin["bank_account_bic"], Value::Null);
    let id = admin["id"].as_str().expect("id").to_string();
    let (_, listed) = t.get("/v1/administrations", "creator").await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, ["81", id.as_str()]);
    let (status, _) = t.get(&format!("/v1/debtors?administration_id={id}"), "creator").await;
    assert_eq!(status, 200);
    let (status, _) = t.get(&format!("/v1/administrations/{id}"), "bystander").await;
    assert_eq!(status, 403);
    let (status, shown) = t
        .get(
            &format!(
                "/v1/administrations/{id}?fields={}",
                urlencode(r#"{"only":["id","import_origin_identifier"]}"#)
            ),
            "creator",
        )
        .await;
    assert_eq!((status, shown["import_origin_identifier"].as_str()), (200, Some("r-1")));
    // The company of the creator owns it now.
    let owned = t.m.state().store.read(|db| {
        db.companies
            .iter(&())
            .any(|c| c.administration_ids.contains(&id.parse().unwrap_or(0)) && c.administration_ids.contains(&81))
    });
    assert!(owned);
}

#[tokio::test]
async fn scopes_are_enforced_on_every_route() {
    let t = T::new().await;
    t.m.state().tokens.insert(
        "ro",
        limited(&["debtors:read", "contacts:read", "administrations:read"], None),
    );
    t.m.state().tokens.insert("none", limited(&[], None));
    for (path, body, scope) in [
        (
            "/v1/debtors",
            json!({"administration_id": 81, "debtors": []}),
            "debtors:write",
        ),
        (
            "/v1/contacts",
            json!({"administration_id": 81, "contacts": []}),
            "contacts:write",
        ),
        ("/v1/administrations", administration_body("X"), "administrations:write"),
    ] {
        let (status, err) = t.post(path, "ro", body).await;
        assert_eq!(status, 403, "{path}: {err}");
        assert_eq!(
            err,
            json!({"code": "forbidden", "message": format!("Missing permission: {scope}")})
        );
    }
    for (path, scope) in [
        ("/v1/debtors?administration_id=81", "debtors:read"),
        ("/v1/debtors/1?administration_id=81", "debtors:read"),
        ("/v1/contacts?administration_id=81", "contacts:read"),
        ("/v1/administrations/81", "administrations:read"),
    ] {
        let (status, err) = t.get(path, "none").await;
        assert_eq!(
            (status, err["message"].clone()),
            (403, json!(format!("Missing permission: {scope}"))),
            "{path}"
        );
        let (status, _) = t.get(path, "ro").await;
        assert_ne!(status, 403, "{path} with the scope");
    }
}

#[tokio::test]
async fn basic_auth_routes_and_sign_up() {
    let t = T::new().await;
    let basic = |rb: reqwest::RequestBuilder| rb.basic_auth(BASIC_USER, Some(BASIC_PASS));
    let uri = t.m.uri();
    let (status, companies) = t.send(basic(t.http.get(format!("{uri}/v1/companies")))).await;
    assert_eq!(status, 200);
    assert_eq!(companies["data"].as_array().map(Vec::len), Some(1));
    // A bearer token is not accepted on the Basic routes, and Basic is not accepted elsewhere.
    let (status, err) = t.get("/v1/companies", t.m.token()).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = t
        .send(basic(t.http.get(format!("{uri}/v1/debtors?administration_id=81"))))
        .await;
    assert_eq!(status, 401);
    let res = t
        .http
        .get(format!("{uri}/v1/companies"))
        .basic_auth(BASIC_USER, Some("nope"))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers().get("www-authenticate").and_then(|v| v.to_str().ok()),
        Some("Basic realm=\"Payt\"")
    );

    let form = sign_up_form("Nieuw B.V.", "Eva@Nieuw.example");
    let (status, s) = t
        .send(basic(t.http.post(format!("{uri}/v1/sign_up"))).form(&form))
        .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["administration"]["status"], "implementation");
    assert_eq!(s["administration"]["bank_account_bic"], "ABNANL2A");
    assert_eq!(s["company"]["status"], "unconfirmed");
    assert_eq!(s["company"]["trial"], true);
    assert_eq!(s["user"]["name"], "Eva Wit");
    assert_eq!(s["user"]["email_address"], "eva@nieuw.example");
    assert_eq!(s["access_grant"]["expires_in"], 600);
    assert_eq!(s["access_grant"]["grant_type"], "authorization_code");
    let created: i64 = s["access_grant"]["created_at"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .expect("unix time");
    assert_eq!(created, t.m.state().now().timestamp());
    let token = s["user"]["sign_up_token"].as_str().expect("token");
    assert!(s["user"]["sign_up_url"].as_str().is_some_and(|u| u.ends_with(token)));
    // The sign-up page is found by its token (the sign-ups' token index); another token is not.
    let page = t
        .http
        .get(s["user"]["sign_up_url"].as_str().expect("a url"))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 200);
    let other = t
        .http
        .get(format!("{uri}/_mock/payt/app/sign_up/{}0", &token[1..]))
        .send()
        .await
        .expect("sent");
    assert_eq!(other.status(), 404);
    // The company is listed for the application and owns the new administration.
    let (_, companies) = t.send(basic(t.http.get(format!("{uri}/v1/companies")))).await;
    assert_eq!(companies["data"][1]["id"], s["company"]["id"]);
    let admin_id: u64 = s["administration"]["id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .expect("id");
    let owner =
        t.m.state()
            .store
            .read(|db| mock_payt::resources::companies::owner_of(db, admin_id));
    assert_eq!(
        owner.map(|o| o.to_string()),
        s["company"]["id"].as_str().map(String::from)
    );
    // The default token was not granted the new administration.
    let (status, _) = t.get(&format!("/v1/administrations/{admin_id}"), t.m.token()).await;
    assert_eq!(status, 403);
    // The same user cannot sign up twice; nothing more is created.
    let (status, err) = t
        .send(basic(t.http.post(format!("{uri}/v1/sign_up"))).form(&form))
        .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("email_address_taken")));
    let (status, err) = t
        .send(basic(t.http.post(format!("{uri}/v1/sign_up"))).form(&form[..5]))
        .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("missing_parameter")));
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("user[first_name] is missing")),
        "{err}"
    );
    assert_eq!(t.m.state().store.read(|db| db.companies.len()), 2);
}

/// A complete sign-up form (`POST /v1/sign_up`) of the company `name` for the user `email`.
pub(crate) fn sign_up_form<'a>(name: &'a str, email: &'a str) -> [(&'static str, &'a str); 17] {
    [
        ("administration[city]", "Utrecht"),
        ("administration[commercial_registration_number]", "12345678"),
        ("administration[country_code]", "NL"),
        ("administration[email_address]", "info@nieuw.example"),
        ("administration[house_number]", "3"),
        ("administration[name]", name),
        ("administration[phone_number]", "030 1234567"),
        ("administration[postal_code]", "3511 AB"),
        ("administration[street_name]", "Oudegracht"),
        ("administration[bank_account_name]", name),
        ("administration[bank_account_number]", "NL91ABNA0417164300"),
        ("administration[bank_account_bic]", "ABNANL2A"),
        ("user[first_name]", "Eva"),
        ("user[last_name]", "Wit"),
        ("user[email_address]", email),
        ("connection[resource_label]", "Nieuw"),
        ("connection[resource_identifier]", "n-1"),
    ]
}
