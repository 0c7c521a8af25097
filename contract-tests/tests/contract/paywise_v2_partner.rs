//! Contract tests for the paywise Partner API v2 (`/partner/v2/`), all 27 operations.
//!
//! They speak only HTTP through [`contract_tests::PaywiseV2Partner`], so they run unchanged
//! against our mock (the default) or paywise's sandbox with a v2 Partner key
//! (`PAYWISE_V2_PARTNER_TOKEN`; without it every test here is recorded as skipped). Every answer
//! is checked against `contracts/paywise-v2-openapi.json` (transcribed from paywise's Python SDK);
//! the assertions add what the v2 reference documents: company creation answers **201**,
//! `Idempotency-Key` replays answer the first answer without its one-time secrets (`setup_url`,
//! `secret_key`), the named error codes (`company_exists` with `company_id`,
//! `onboarding_mode_required`, `onboarding_mode_immutable`, `not_found` after a release,
//! `precondition_failed`), `ETag`s, offset pages and the event feed.
//!
//! **Data.** The tests onboard their own companies (`api_only`, tagged with
//! [`unique_reference`]), add memberships to them, and release them when the test ends; they
//! create webhooks and delete them. A company and its memberships stay on paywise's side after a
//! release (nothing deletes them), so against a vendor those tests need
//! `CONTRACT_ALLOW_PERMANENT_WRITES=1` and are recorded as skipped without it. Revoking an
//! **active** membership needs one that its user activated in paywise's web flow: the test
//! revokes the first active non-admin membership it finds in a company of its own making (none
//! against the mock, whose activation is mock-only: then that part is recorded as skipped, and
//! the operation is exercised by the refusal to revoke a pending one).

use contract_tests::v2::{
    UNKNOWN_UUID, assert_error, assert_page, assert_replay, assert_stale, assert_timestamp, command, conditional_get,
    delete, follow, get, ids, key, patch, post, send, text, walk,
};
use contract_tests::{Conn, PaywiseV2Partner, skip, unique_reference};
use reqwest::Method;
use serde_json::{Value, json};

const COMPANIES: &str = "/partner/v2/companies/";
const WEBHOOKS: &str = "/partner/v2/webhooks/";
const DELIVERIES: &str = "/partner/v2/webhook-deliveries/";

/// A unique e-mail address of the suite.
fn email(what: &str) -> String {
    format!("{}@example.com", unique_reference(what))
}

/// An `api_only` company with everything readiness asks for, and one inline admin.
fn company(name: &str) -> Value {
    json!({
        "name": name,
        "onboarding_mode": "api_only",
        "external_reference": unique_reference("v2-crm"),
        "address": {"street": "Marktplatz 1", "postal_code": "80331", "city": "München", "country": "DE"},
        "phone": "+49891234567",
        "tax_treatment": "input_tax_deductible",
        "payout_bank_account": {"account_holder": name, "iban": "DE89370400440532013000"},
        "notification_channels": [{"type": "email", "value": "ops@example.com", "notifications": ["statements", "requests_to_client"]}],
        "users": [{"email": email("v2-admin"), "first_name": "Max", "last_name": "Muster", "role": "admin"}],
    })
}

/// Onboards `body` (201), to be released when the test ends. The first reply.
async fn onboard(c: &Conn, body: &Value, idem: &str) -> contract_tests::v2::Reply {
    let reply = post(c, COMPANIES, body, idem).await;
    let created = reply.expect(201);
    let id = text(created, "id");
    c.cleanup_command_later(
        format!("{COMPANIES}{id}/release/"),
        json!({"reason": "contract test cleanup"}),
    );
    reply
}

/// Connects, or `None` when the key is missing or (for what leaves records behind) the permanent
/// writes are not allowed; both recorded as skipped.
async fn connect_for(what: Option<&str>) -> Option<PaywiseV2Partner> {
    let pt = PaywiseV2Partner::connect().await?;
    if let Some(what) = what
        && !pt.permanent_writes(what)
    {
        return None;
    }
    Some(pt)
}

// ---------------------------------------------------------------------------------------------
// Health, info, usage, legal forms
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn partner_health_info_usage_and_legal_forms() {
    let Some(pt) = connect_for(None).await else {
        return;
    };
    let health = send(&pt, pt.client.get(pt.url("/partner/v2/health/"))).await;
    let health = health.expect(200);
    assert_eq!(health["status"], "ok", "{health}");
    assert!(health["version"].is_string(), "{health}");

    let info = get(&pt, "/partner/v2/info/", &[]).await;
    let info = info.expect(200);
    assert_eq!(info["environment"], "sandbox", "{info}");
    assert!(info["capabilities"].is_array() && info["scopes"].is_array(), "{info}");
    assert!(
        info["partner"]["id"].is_string() && info["partner"]["name"].is_string(),
        "{info}"
    );
    assert!(info.get("email").is_none(), "never the owner's e-mail: {info}");

    let usage = get(&pt, "/partner/v2/usage/", &[]).await;
    let usage = usage.expect(200);
    assert_timestamp(usage, "generated_at");
    let limits = usage["limits"].as_array().expect("limits is a list");
    assert!(!limits.is_empty(), "{usage}");
    for l in limits {
        assert!(
            l["scope"].is_string() && l["limit"].is_u64() && l["remaining"].is_u64(),
            "{l}"
        );
    }

    let forms = conditional_get(&pt, "/partner/v2/legal-forms/").await;
    let forms = forms.body.as_array().cloned().expect("a bare list");
    assert!(!forms.is_empty() && forms.iter().all(|f| f["code"].is_string() && f["label"].is_string()));

    let anonymous = send(&pt, pt.client.get(pt.url("/partner/v2/info/"))).await;
    assert_error(&anonymous, 401, None);
}

// ---------------------------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_company_is_onboarded_once_per_key_read_patched_and_released() {
    let Some(pt) = connect_for(Some("onboarding a company (released, never deleted)")).await else {
        return;
    };
    let name = unique_reference("v2-Muster Handel GmbH");
    let body = company(&name);
    let idem = key();
    let first = onboard(&pt, &body, &idem).await;
    let created = first.body.clone();
    let id = text(&created, "id");
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["external_reference"], body["external_reference"]);
    assert_eq!(created["onboarding_mode"], "api_only");
    assert_eq!(created["onboarding_status"], "confirmation_not_required");
    assert_eq!(created["case_access"], "available");
    assert_eq!(created["sandbox_origin"], "sandbox_native");
    assert_eq!(created["address"]["postal_code"], "80331");
    assert_eq!(created["payout_bank_account"]["iban"], "DE89370400440532013000");
    let readiness = &created["case_submission_readiness"];
    assert!(readiness["ready"].is_boolean(), "{created}");
    if readiness["ready"] == false {
        assert!(
            readiness["issues"].as_array().is_some_and(|i| !i.is_empty()),
            "a company that is not ready names why"
        );
    }
    let user = &created["users"][0];
    assert_eq!(user["role"], "admin");
    assert_eq!(user["status"], "pending_setup");
    assert!(
        user["setup_url"].as_str().is_some_and(|u| !u.is_empty()),
        "the first 201 carries the setup link"
    );
    assert_timestamp(&created, "created_at");
    let replay = post(&pt, COMPANIES, &body, &idem).await;
    assert_replay(&first, &replay);
    assert!(
        replay.body["users"][0]
            .get("setup_url")
            .is_none_or(|u| u.is_null() || u == ""),
        "replays omit setup_url: {}",
        replay.body
    );

    // A second company with the same external reference is refused, naming the first.
    let mut dup = company(&unique_reference("v2-Dup GmbH"));
    dup["external_reference"] = body["external_reference"].clone();
    let refused = post(&pt, COMPANIES, &dup, &key()).await;
    let err = assert_error(&refused, 409, Some("company_exists"));
    assert_eq!(err["company_id"], id.as_str(), "CompanyExistsError names the company");
    let mut modeless = company(&unique_reference("v2-No mode GmbH"));
    if let Some(m) = modeless.as_object_mut() {
        m.remove("onboarding_mode");
    }
    assert_error(
        &post(&pt, COMPANIES, &modeless, &key()).await,
        400,
        Some("onboarding_mode_required"),
    );

    let by_ref = walk(
        &pt,
        COMPANIES,
        &[("external_reference", body["external_reference"].as_str().unwrap_or(""))],
    )
    .await;
    assert_eq!(ids(&by_ref), std::slice::from_ref(&id), "external_reference is exact");
    assert!(
        by_ref[0].get("users").is_none(),
        "list rows are CompanyList, without users"
    );
    let found = walk(&pt, COMPANIES, &[("search", &format!("\"{name}\"")), ("limit", "100")]).await;
    assert!(ids(&found).contains(&id), "search finds the company by a quoted phrase");
    if let Some(number) = created["customer_number"].as_str() {
        assert!(ids(&walk(&pt, COMPANIES, &[("customer_number", number)]).await).contains(&id));
    }
    let sorted = walk(&pt, COMPANIES, &[("ordering", "-name"), ("limit", "100")]).await;
    let names: Vec<String> = sorted.iter().map(|c| text(c, "name")).collect();
    // Tolerance: collation is paywise's; only the direction is checked, case-insensitively.
    assert!(
        names.windows(2).all(|w| w[0].to_lowercase() >= w[1].to_lowercase()),
        "ordering=-name: {names:?}"
    );

    let path = format!("{COMPANIES}{id}/");
    let read = conditional_get(&pt, &path).await;
    assert_eq!(read.body["users"][0]["id"], user["id"]);
    assert!(
        read.body["users"][0].get("setup_url").is_none(),
        "reads never carry setup_url"
    );
    let tag = read.etag();
    let patched = patch(
        &pt,
        &path,
        &json!({"phone": "+49897654321", "address": {"city": "Augsburg"}}),
        Some(&tag),
    )
    .await;
    let patched = patched.expect(200).clone();
    assert_eq!(patched["phone"], "+49897654321");
    assert_eq!(patched["address"]["city"], "Augsburg");
    assert_eq!(patched["address"]["street"], "Marktplatz 1", "address merges");
    assert_stale(&patch(&pt, &path, &json!({"phone": null}), Some(&tag)).await);
    // An empty PATCH is a no-op: neither updated_at nor the ETag moves.
    let before = get(&pt, &path, &[]).await;
    let noop = patch(&pt, &path, &json!({}), None).await;
    assert_eq!(noop.expect(200)["updated_at"], before.body["updated_at"]);
    assert_eq!(noop.etag(), before.etag(), "an empty PATCH keeps the ETag");
    assert_error(
        &patch(&pt, &path, &json!({"onboarding_mode": "web_flow"}), None).await,
        409,
        Some("onboarding_mode_immutable"),
    );

    // The Partner acts for the company on the Case Management API.
    let acting = send(&pt, pt.get("/v2/info/").header("X-On-Behalf-Of-Company", &id)).await;
    assert_eq!(
        acting.expect(200)["company"],
        id.as_str(),
        "X-On-Behalf-Of-Company selects the company"
    );

    let release_key = key();
    let released = post(
        &pt,
        &format!("{path}release/"),
        &json!({"reason": "Vertrag beendet"}),
        &release_key,
    )
    .await;
    let receipt = released.expect(200).clone();
    assert_eq!(receipt["id"], id.as_str());
    assert_eq!(receipt["case_access"], "unavailable");
    assert_replay(
        &released,
        &post(
            &pt,
            &format!("{path}release/"),
            &json!({"reason": "Vertrag beendet"}),
            &release_key,
        )
        .await,
    );
    assert_error(
        &post(&pt, &format!("{path}release/"), &json!({}), &key()).await,
        404,
        Some("not_found"),
    );
    assert_error(&get(&pt, &path, &[]).await, 404, Some("not_found"));
    assert_error(
        &get(&pt, &format!("{COMPANIES}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

// ---------------------------------------------------------------------------------------------
// Memberships
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn memberships_are_added_reassigned_resent_and_cancelled_while_pending() {
    let Some(pt) = connect_for(Some("onboarding a company and adding memberships")).await else {
        return;
    };
    let created = onboard(&pt, &company(&unique_reference("v2-Members GmbH")), &key())
        .await
        .body;
    let company_id = text(&created, "id");
    let admin = text(&created["users"][0], "id");
    let base = format!("{COMPANIES}{company_id}/users/");

    let address = email("v2-member");
    let body = json!({"email": address, "first_name": "Mia", "last_name": "Beispiel", "role": "member"});
    let idem = key();
    let first = post(&pt, &base, &body, &idem).await;
    let member = first.expect(201).clone();
    let id = text(&member, "id");
    assert_eq!(member["email"], address.as_str());
    assert_eq!(member["role"], "member");
    assert_eq!(member["status"], "pending_setup");
    assert!(
        member["setup_url"].as_str().is_some_and(|u| !u.is_empty()),
        "add shows the setup link once"
    );
    assert_timestamp(&member, "invite_expires_at");
    let replay = post(&pt, &base, &body, &idem).await;
    assert_replay(&first, &replay);
    assert!(
        replay.body.get("setup_url").is_none_or(|u| u.is_null() || u == ""),
        "replays omit setup_url"
    );
    // `role` is required.
    let roleless = json!({"email": email("v2-roleless"), "first_name": "A", "last_name": "B"});
    assert_error(&post(&pt, &base, &roleless, &key()).await, 400, None);
    let elsewhere = format!("{COMPANIES}{UNKNOWN_UUID}/users/");
    assert_error(&post(&pt, &elsewhere, &body, &key()).await, 404, None);

    let listed = walk(&pt, &base, &[]).await;
    let mut listed = ids(&listed);
    listed.sort();
    let mut want = vec![admin, id.clone()];
    want.sort();
    assert_eq!(listed, want, "the inline admin and the new member");
    let path = format!("{base}{id}/");
    let read = conditional_get(&pt, &path).await;
    assert!(read.body.get("setup_url").is_none(), "reads never carry setup_url");

    let changed = patch(&pt, &path, &json!({"role": "readonly"}), Some(&read.etag())).await;
    let changed = changed.expect(200).clone();
    assert_eq!(changed["role"], "readonly");
    assert_eq!(changed["status"], "pending_setup");
    assert_stale(&patch(&pt, &path, &json!({"role": "member"}), Some(&read.etag())).await);

    let resent = command(&pt, &format!("{path}resend/"), &key()).await;
    let resent = resent.expect(200).clone();
    assert_eq!(resent["id"], id.as_str());
    assert!(
        resent["setup_url"]
            .as_str()
            .is_some_and(|u| !u.is_empty() && Some(u) != member["setup_url"].as_str()),
        "resend replaces the setup token: {resent}"
    );

    // Revoking is for active memberships only.
    assert_error(
        &post(&pt, &format!("{path}revoke/"), &json!({"reason": "pending"}), &key()).await,
        409,
        None,
    );

    let cancelled = command(&pt, &format!("{path}cancel/"), &key()).await;
    assert_eq!(cancelled.expect(200)["status"], "cancelled");
    assert_error(&command(&pt, &format!("{path}cancel/"), &key()).await, 409, None);
    assert_error(&patch(&pt, &path, &json!({"role": "member"}), None).await, 409, None);
    assert_error(
        &get(&pt, &format!("{base}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );
}

#[tokio::test]
async fn an_active_membership_is_revoked_with_a_reason() {
    let Some(pt) = connect_for(Some("revoking a membership")).await else {
        return;
    };
    // Only the user can activate a membership (paywise's web flow): look for one in the
    // Partner's companies, never an admin, and only in a company the suite onboarded.
    let companies = walk(&pt, COMPANIES, &[("search", "contract-test-"), ("limit", "100")]).await;
    let mut active = None;
    for c in &companies {
        let base = format!("{COMPANIES}{}/users/", text(c, "id"));
        if let Some(m) = walk(&pt, &base, &[])
            .await
            .into_iter()
            .find(|m| m["status"] == "active" && m["role"] != "admin")
        {
            active = Some((base, m));
            break;
        }
    }
    let Some((base, membership)) = active else {
        skip("no company of the suite has an active non-admin membership (users activate them in paywise's web flow)");
        return;
    };
    let path = format!("{base}{}/", text(&membership, "id"));
    let revoked = post(
        &pt,
        &format!("{path}revoke/"),
        &json!({"reason": "contract test"}),
        &key(),
    )
    .await;
    let revoked = revoked.expect(200);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], "contract test");
    assert_timestamp(revoked, "revoked_at");
}

// ---------------------------------------------------------------------------------------------
// Webhooks, deliveries, events
// ---------------------------------------------------------------------------------------------

/// A receiver URL: on this machine (for a target here) a loopback receiver answering 204;
/// elsewhere a public HTTPS URL.
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

#[tokio::test]
async fn partner_webhooks_take_lifecycle_events_and_their_deliveries_are_redelivered() {
    let Some(pt) = connect_for(None).await else {
        return;
    };
    let url = receiver_url(&pt, "v2-partner-webhook").await;
    let body = json!({"url": url, "description": "contract test", "events": ["company.created", "company.user.added"]});
    let idem = key();
    let first = post(&pt, WEBHOOKS, &body, &idem).await;
    let hook = first.expect(201).clone();
    let id = text(&hook, "id");
    pt.cleanup_later(Method::DELETE, format!("{WEBHOOKS}{id}/"), None);
    assert!(hook["secret_key"].is_string(), "create answers the secret once");
    assert_eq!(hook["enabled"], true, "enabled by default");
    assert_eq!(hook["companies"], Value::Null, "no companies: lifecycle events only");
    assert_eq!(hook["events"], json!(["company.created", "company.user.added"]));
    assert!(
        hook.get("contract_version").is_none(),
        "Partner webhooks have no contract_version: {hook}"
    );
    let replay = post(&pt, WEBHOOKS, &body, &idem).await;
    assert_replay(&first, &replay);
    // Case event types need a companies selector.
    let case_only = json!({"url": receiver_url(&pt, "v2-partner-case").await, "events": ["order.submitted"]});
    assert_error(
        &post(&pt, WEBHOOKS, &case_only, &key()).await,
        400,
        Some("validation_error"),
    );

    assert!(ids(&walk(&pt, WEBHOOKS, &[("enabled", "true"), ("limit", "100")]).await).contains(&id));
    let path = format!("{WEBHOOKS}{id}/");
    let read = conditional_get(&pt, &path).await;
    assert!(read.body.get("secret_key").is_none(), "reads never show the secret");
    let patched = patch(
        &pt,
        &path,
        &json!({"companies": "*", "events": ["*"], "description": "contract test (all)"}),
        Some(&read.etag()),
    )
    .await;
    let patched = patched.expect(200).clone();
    assert_eq!(patched["companies"], "*");
    assert_eq!(patched["events"], json!(["*"]));
    assert_stale(&patch(&pt, &path, &json!({"description": "stale"}), Some(&read.etag())).await);
    let rotated = command(&pt, &format!("{path}rotate-secret/"), &key()).await;
    let rotated = rotated.expect(200);
    assert!(rotated["secret_key"].is_string() && rotated["secret_key"] != hook["secret_key"]);

    // The Partner's test sends lifecycle events only.
    assert_error(
        &post(
            &pt,
            &format!("{path}test/"),
            &json!({"event": "order.submitted"}),
            &key(),
        )
        .await,
        400,
        None,
    );
    let tested = post(
        &pt,
        &format!("{path}test/"),
        &json!({"event": "company.created"}),
        &key(),
    )
    .await;
    let result = tested.expect(202).clone();
    for k in ["delivery_id", "event_id", "detail"] {
        assert!(result[k].is_string(), "PartnerWebhookCommandResult has `{k}`: {result}");
    }
    let delivery_path = format!("{DELIVERIES}{}/", text(&result, "delivery_id"));
    let delivery = get(&pt, &delivery_path, &[]).await.expect(200).clone();
    assert_eq!(delivery["event_type"], "company.created");
    assert_eq!(delivery["payload"]["type"], "company.created");
    assert_eq!(delivery["payload"]["id"], result["event_id"]);
    for k in ["webhook", "webhook_url", "idempotency_key"] {
        assert!(delivery.get(k).is_none(), "a Partner delivery has no `{k}`: {delivery}");
    }
    let listed = walk(&pt, DELIVERIES, &[("webhook", &id), ("limit", "100")]).await;
    assert!(ids(&listed).contains(&text(&result, "delivery_id")));
    let typed = walk(&pt, DELIVERIES, &[("webhook", &id), ("event_type", "company.created")]).await;
    assert!(typed.iter().all(|d| d["event_type"] == "company.created"));
    assert_error(
        &get(&pt, &format!("{DELIVERIES}{UNKNOWN_UUID}/"), &[]).await,
        404,
        Some("not_found"),
    );

    let mut settled = None;
    for _ in 0..80 {
        let d = get(&pt, &delivery_path, &[]).await.expect(200).clone();
        if matches!(d["status"].as_str(), Some("success" | "failed")) {
            settled = Some(d);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    match settled {
        Some(done) => {
            // Settled, it no longer changes: its ETag answers 304.
            conditional_get(&pt, &delivery_path).await;
            let again = command(&pt, &format!("{delivery_path}redeliver/"), &key()).await;
            assert_eq!(
                again.expect(202)["event_id"],
                done["event_id"],
                "only settled deliveries are re-enqueued"
            );
        }
        None => {
            let refused = command(&pt, &format!("{delivery_path}redeliver/"), &key()).await;
            assert_error(&refused, 409, Some("delivery_in_progress"));
        }
    }
    let off = patch(&pt, &path, &json!({"enabled": false}), None).await;
    assert_eq!(off.expect(200)["enabled"], false);
    assert_error(
        &command(&pt, &format!("{delivery_path}redeliver/"), &key()).await,
        409,
        Some("conflict"),
    );

    let tag = get(&pt, &path, &[]).await.etag();
    assert_stale(&delete(&pt, &path, Some("\"contract-test-stale\"")).await);
    delete(&pt, &path, Some(&tag)).await.expect(204);
    assert_error(&get(&pt, &path, &[]).await, 404, Some("not_found"));
}

#[tokio::test]
async fn company_lifecycle_events_reach_the_partner_event_feed() {
    let Some(pt) = connect_for(Some("onboarding a company for its lifecycle events")).await else {
        return;
    };
    let created = onboard(&pt, &company(&unique_reference("v2-Events GmbH")), &key())
        .await
        .body;
    let company_id = text(&created, "id");
    let mut events = Vec::new();
    for attempt in 0..4 {
        pt.let_time_pass(std::time::Duration::from_secs(if attempt == 0 { 61 } else { 10 }))
            .await;
        events = walk_feed(&pt, &[("company", &company_id), ("limit", "100")]).await.0;
        if events.iter().any(|e| e["type"] == "company.created") {
            break;
        }
    }
    let Some(created_event) = events.iter().find(|e| e["type"] == "company.created").cloned() else {
        skip("company.created did not reach the Partner event feed within 90 s");
        return;
    };
    assert!(created_event["id"].is_string());
    assert_timestamp(&created_event, "created_at");
    assert_eq!(created_event["data"]["company_id"], company_id.as_str());
    assert_eq!(
        created_event["data"]["company_url"],
        format!("/partner/v2/companies/{company_id}/"),
        "event links are API paths"
    );
    assert!(created_event["data"]["case_submission_ready"].is_boolean());
    assert!(
        events.iter().all(|e| e["data"]["company_id"] == company_id.as_str()),
        "company= filters the feed"
    );
    if let Some(added) = events.iter().find(|e| e["type"] == "company.user.added") {
        assert_eq!(
            added["data"]["membership_id"], created["users"][0]["id"],
            "the inline admin was added"
        );
    }
    let typed = walk_feed(&pt, &[("company", &company_id), ("event_type", "company.created")])
        .await
        .0;
    assert!(typed.iter().all(|e| e["type"] == "company.created") && !typed.is_empty());

    let (_, last) = walk_feed(&pt, &[("company", &company_id), ("limit", "1")]).await;
    let cursor = text(&last, "cursor");
    assert_eq!(last["next"], Value::Null);
    let quiet = get(
        &pt,
        "/partner/v2/events/",
        &[("company", &company_id), ("since", &cursor)],
    )
    .await;
    let quiet = quiet.expect(200);
    assert_eq!(quiet["results"], json!([]));
    assert_eq!(
        quiet["cursor"],
        cursor.as_str(),
        "an empty page keeps the requested since"
    );

    // Companies have the updated_since mode: the new company is there once settled.
    let since = (pt.now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let page = get(&pt, COMPANIES, &[("updated_since", &since), ("limit", "100")]).await;
    let page = page.expect(200).clone();
    assert_eq!(
        page["previous"],
        Value::Null,
        "previous is always null in updated_since mode"
    );
    assert_page(&page, COMPANIES);
    let mut rows = page["results"].as_array().cloned().unwrap_or_default();
    let mut next = page["next"].as_str().map(str::to_string);
    for _ in 0..50 {
        let Some(url) = next.take() else { break };
        let p = follow(&pt, &url).await.expect(200).clone();
        rows.extend(p["results"].as_array().cloned().unwrap_or_default());
        next = p["next"].as_str().map(str::to_string);
    }
    assert!(
        ids(&rows).contains(&company_id),
        "the onboarded company is in updated_since"
    );
}

/// The Partner event feed with `query`, followed to the end (bounded): the events and the last
/// page.
async fn walk_feed(c: &Conn, query: &[(&str, &str)]) -> (Vec<Value>, Value) {
    let path = "/partner/v2/events/";
    let mut page = get(c, path, query).await.expect(200).clone();
    let mut events = Vec::new();
    for _ in 0..50 {
        let results = page["results"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("results is a list: {page}"));
        assert!(
            page.get("count").is_none() && page.get("previous").is_none(),
            "a feed page is {{cursor, next, results}}: {page}"
        );
        let empty = results.is_empty();
        events.extend(results);
        match page["next"].as_str() {
            Some(next) if !empty => {
                assert!(
                    page["cursor"].is_string(),
                    "`cursor` is on every page with events: {page}"
                );
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
