//! Spec checks for payment-plan transitions, deleted records, tasks, messages, notes, PSP mandates and PSP transactions.

use mock_payt::MockPayt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::spec::harness::*;

/// Requests every route of the group, success and error cases, through the harness.
pub async fn run(h: &mut Harness, mock: &MockPayt) {
    for name in ["credit_cases", "payment_plans", "psp_mandates"] {
        deleted(h, name).await;
    }
    payment_plan_transitions(h, mock).await;
    tasks(h, mock).await;
    messages(h, mock).await;
    notes(h).await;
    psp_mandates(h, mock).await;
    psp_transactions(h).await;
}

fn patch(path: impl Into<String>) -> Req {
    Req::new(Method::PATCH, path)
}

/// `GET /v1/<name>/deleted`: the window, paging and every error.
async fn deleted(h: &mut Harness, name: &str) {
    let since = "2026-01-01T00:00:00Z";
    let mut all = Vec::new();
    for prefix in PREFIXES {
        let reply = h
            .call(
                Req::get(format!("{prefix}/{name}/deleted"))
                    .admin(81)
                    .q("deleted_after", since)
                    .q("per_page", 500),
                200,
            )
            .await;
        all.push(data(&reply.body));
    }
    let full = all.swap_remove(0);
    h.ensure(full == all[0], || format!("/v1 and /api/v1 {name}/deleted differ"));
    h.ensure(full.len() >= 2, || {
        format!("{name}/deleted: administration 81 has only {} tombstones", full.len())
    });
    h.ensure(full.iter().all(|t| t["administration_id"] == "81"), || {
        format!("{name}/deleted lists another administration's tombstones")
    });
    let full_ids = ids(&full);

    // Paging by one: the cursor walks the whole list and ends null.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..=full.len() {
        let mut req = Req::get(format!("/v1/{name}/deleted"))
            .admin(81)
            .q("deleted_after", since)
            .q("per_page", 1);
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
    h.ensure(seen == full_ids, || {
        format!("{name}/deleted paged by 1 gave {seen:?}, the full list is {full_ids:?}")
    });

    // deleted_before and deleted_after bound the window (strictly).
    let mut stamps: Vec<String> = full
        .iter()
        .map(|t| t["deleted_at"].as_str().unwrap_or_default().to_string())
        .collect();
    stamps.sort();
    let middle = stamps[stamps.len() / 2].clone();
    for (param, keep) in [("deleted_before", true), ("deleted_after", false)] {
        let mut req = Req::get(format!("/api/v1/{name}/deleted")).admin(81).q("per_page", 500);
        req = if param == "deleted_before" {
            req.q("deleted_after", since).q("deleted_before", &middle)
        } else {
            req.q("deleted_after", &middle)
        };
        let reply = h.call(req, 200).await;
        let expected: Vec<String> = ids(&full
            .iter()
            .filter(|t| {
                let at = t["deleted_at"].as_str().unwrap_or_default();
                if keep {
                    at < middle.as_str()
                } else {
                    at > middle.as_str()
                }
            })
            .cloned()
            .collect::<Vec<_>>());
        h.ensure(ids(&data(&reply.body)) == expected, || {
            format!(
                "{name}/deleted {param}={middle}: expected {expected:?}, got {}",
                reply.body
            )
        });
    }
    // Older than 90 days is clamped, not refused.
    h.call(
        Req::get(format!("/v1/{name}/deleted"))
            .admin(81)
            .q("deleted_after", "2000-01-01T00:00:00Z"),
        200,
    )
    .await;

    // Errors.
    let path = format!("/v1/{name}/deleted");
    h.call(Req::get(&path).admin(81), 400).await;
    h.call(Req::get(&path).q("deleted_after", since), 400).await;
    for (param, value) in [
        ("deleted_after", "yesterday"),
        ("deleted_before", "soon"),
        ("per_page", "0"),
        ("per_page", "501"),
        ("cursor", "abc"),
    ] {
        let mut req = Req::get(&path).admin(81).q(param, value);
        if param != "deleted_after" {
            req = req.q("deleted_after", since);
        }
        h.call(req, 400).await;
    }
    h.call(Req::get(&path).admin(83).q("deleted_after", since), 403).await;
    h.call(
        Req::get(format!("/api/v1/{name}/deleted"))
            .admin(81)
            .q("deleted_after", since)
            .auth(Auth::Missing),
        401,
    )
    .await;
    h.call(Req::post(&path).admin(81), 405).await;
}

/// Ids of administration 81's plans in `state`, by the mock's own view.
fn plans_in(mock: &MockPayt, state: &str) -> Vec<u64> {
    mock.state().store.read(|db| {
        db.payment_plans
            .iter(&81)
            .filter(|p| mock_payt::resources::payment_plans::state_of(p) == state)
            .map(|p| p.id)
            .collect()
    })
}

async fn payment_plan_transitions(h: &mut Harness, mock: &MockPayt) {
    let proposed = plans_in(mock, "proposed");
    let active = plans_in(mock, "active");
    h.ensure(proposed.len() >= 2 && !active.is_empty(), || {
        format!("administration 81 needs 2 proposed and 1 active plans: {proposed:?} {active:?}")
    });
    let (to_approve, to_reject, to_deactivate) = (proposed[0], proposed[1], active[0]);
    let rejected = plans_in(mock, "rejected");
    let deactivated = plans_in(mock, "deactivated");

    // Approve (form body, as the spec has it), with a projection in the body.
    let sel = json!({"only": ["id", "active", "approved_at"]});
    let reply = h
        .call(
            patch(format!("/v1/payment_plans/{to_approve}/approve"))
                .fields(sel.clone())
                .body(
                    FORM,
                    format!("administration_id=81&fields={}", urlencode(&sel.to_string())),
                ),
            200,
        )
        .await;
    h.ensure(
        reply.body["active"] == true && reply.body["approved_at"].is_string(),
        || format!("approve did not activate the plan: {}", reply.body),
    );
    // Reject (JSON body) under /api/v1: the full entity.
    let reply = h
        .call(
            patch(format!("/api/v1/payment_plans/{to_reject}/reject")).json(json!({"administration_id": 81})),
            200,
        )
        .await;
    h.ensure(
        reply.body["active"] == false
            && reply.body["rejected_at"].is_string()
            && reply.body["rejected_by_user"]["id"].is_string(),
        || format!("reject did not reject the plan: {}", reply.body),
    );
    // Deactivate an active plan, projected through the query string.
    let reply = h
        .call(
            patch(format!("/v1/payment_plans/{to_deactivate}/deactivate"))
                .fields(json!({"only": ["id", "active", "deactivated_at", {"payment_terms": ["id"]}]}))
                .body(FORM, "administration_id=81"),
            200,
        )
        .await;
    h.ensure(
        reply.body["active"] == false && reply.body["deactivated_at"].is_string(),
        || format!("deactivate did not deactivate the plan: {}", reply.body),
    );

    // Refused transitions: 422 invalid_state.
    let mut refused = vec![
        ("approve", to_approve),
        ("reject", to_approve),
        ("deactivate", to_reject),
        ("approve", to_reject),
        ("reject", to_reject),
        ("approve", to_deactivate),
        ("reject", to_deactivate),
        ("deactivate", to_deactivate),
    ];
    if let Some(p) = proposed.get(2) {
        refused.push(("deactivate", *p));
    }
    for id in rejected.iter().chain(&deactivated) {
        refused.extend([("approve", *id), ("reject", *id), ("deactivate", *id)]);
    }
    for (action, id) in refused {
        let reply = h
            .call(
                patch(format!("/v1/payment_plans/{id}/{action}")).body(FORM, "administration_id=81"),
                422,
            )
            .await;
        h.ensure(reply.body["code"] == "invalid_state", || {
            format!("{action} of plan {id}: expected code invalid_state, got {}", reply.body)
        });
    }

    // Other errors, for each transition.
    for action in ["approve", "reject", "deactivate"] {
        let path = format!("/v1/payment_plans/{to_approve}/{action}");
        h.call(
            patch(format!("/v1/payment_plans/999999999/{action}")).body(FORM, "administration_id=81"),
            404,
        )
        .await;
        h.call(
            patch(format!("/api/v1/payment_plans/abc/{action}")).json(json!({"administration_id": "81"})),
            404,
        )
        .await;
        h.call(patch(&path).body(FORM, "administration_id=83"), 403).await;
        h.call(patch(&path).body(FORM, "administration_id=99"), 403).await;
        h.call(patch(&path).body(FORM, ""), 422).await;
        h.call(patch(&path).body(FORM, "administration_id=abc"), 422).await;
        h.call(patch(&path).body(FORM, "administration_id=81&fields=not-json"), 422)
            .await;
        h.call(patch(&path).body(JSON, "{\"administration_id\": "), 422).await;
        h.call(patch(&path).auth(Auth::Missing).body(FORM, "administration_id=81"), 401)
            .await;
        h.call(
            patch(&path)
                .auth(Auth::Header("Bearer wrong-token"))
                .body(FORM, "administration_id=81"),
            401,
        )
        .await;
        h.call(Req::get(&path).admin(81), 405).await;
        h.call(Req::post(&path).body(FORM, "administration_id=81"), 405).await;
    }
}

/// Percent-encodes a form value.
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An open and a completed task of administration 81, and a task of 82.
fn task_ids(mock: &MockPayt) -> (Vec<u64>, Vec<u64>, u64) {
    mock.state().store.read(|db| {
        let open = db
            .tasks
            .iter(&81)
            .filter(|t| t.completed_at.is_none())
            .map(|t| t.id)
            .collect();
        let done = db
            .tasks
            .iter(&81)
            .filter(|t| t.completed_at.is_some())
            .map(|t| t.id)
            .collect();
        let other = db.tasks.iter(&82).map(|t| t.id).next().unwrap_or_default();
        (open, done, other)
    })
}

async fn tasks(h: &mut Harness, mock: &MockPayt) {
    let comment = h.spec.required("CustomerApi_V1_CommentEntity");
    let r = Resource {
        name: "tasks",
        full: selection(
            h.spec.required("CustomerApi_V1_TaskEntity"),
            &[
                "description",
                "subject",
                "completed_at",
                "credit_case_id",
                "debtor_id",
                "invoice_id",
            ],
            &[
                ("comments", comment.clone()),
                ("assigned_to_user", h.spec.required("CustomerApi_V1_UserEntity")),
            ],
        ),
        opt_in: &["comments"],
        narrow: json!({"only": ["id", "subject", {"comments": ["content"]}]}),
    };
    list_and_show(h, &r).await;

    let (open, done, other) = task_ids(mock);
    h.ensure(open.len() >= 3 && done.len() >= 3, || {
        format!("administration 81 needs 3 open and 3 completed tasks: {open:?} {done:?}")
    });
    let (a, b) = (open[0], open[1]);

    // Comment: 201 SuccessEntity, JSON and form, both prefixes.
    let reply = h
        .call(
            Req::post(format!("/v1/tasks/{a}/comment")).json(json!({"administration_id": "81", "comment": "Gebeld"})),
            201,
        )
        .await;
    h.ensure(reply.body["success"] == true && reply.body["count"] == 1, || {
        format!("comment: {}", reply.body)
    });
    h.call(
        Req::post(format!("/api/v1/tasks/{a}/comment")).body(FORM, "administration_id=81&comment=Nog+een"),
        201,
    )
    .await;
    let shown = h
        .call(
            Req::get(format!("/v1/tasks/{a}"))
                .admin(81)
                .fields(json!({"only": ["id", {"comments": comment.clone()}]})),
            200,
        )
        .await;
    let texts: Vec<&str> = shown.body["comments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["content"].as_str())
        .collect();
    h.ensure(texts.ends_with(&["Gebeld", "Nog een"]), || {
        format!("the comments are not on the task: {}", shown.body)
    });
    let comment_path = format!("/v1/tasks/{a}/comment");
    h.call(Req::post(&comment_path).json(json!({"administration_id": "81"})), 422)
        .await;
    h.call(
        Req::post(&comment_path).json(json!({"administration_id": "81", "comment": " "})),
        422,
    )
    .await;
    h.call(
        Req::post(&comment_path).json(json!({"administration_id": "81", "comment": ["x"]})),
        422,
    )
    .await;
    h.call(Req::post(&comment_path).json(json!({"comment": "x"})), 422)
        .await;
    h.call(
        Req::post("/v1/tasks/999999999/comment").json(json!({"administration_id": "81", "comment": "x"})),
        404,
    )
    .await;
    h.call(
        Req::post(format!("/v1/tasks/{other}/comment")).json(json!({"administration_id": "81", "comment": "x"})),
        404,
    )
    .await;
    h.call(
        Req::post(&comment_path).json(json!({"administration_id": "83", "comment": "x"})),
        403,
    )
    .await;
    h.call(
        Req::post(&comment_path)
            .auth(Auth::Missing)
            .json(json!({"administration_id": "81", "comment": "x"})),
        401,
    )
    .await;
    h.call(Req::get(&comment_path).admin(81), 405).await;

    // mark_completed: open -> completed (JSON with every key; form), then refused.
    let reply = h
        .call(
            // The projection is in the body; the harness is told about it through `fields`.
            patch(format!("/v1/tasks/{a}/mark_completed"))
                .fields(json!({"only": ["id", "completed_at", {"comments": ["content"]}]}))
                .json(json!({
                    "administration_id": "81",
                    "completed_status": "succeeded",
                    "completed_status_message": "Betaald",
                    "comment": "Afgerond",
                    "resume_dossiers": true,
                    "fields": {"only": ["id", "completed_at", {"comments": ["content"]}]}
                })),
            200,
        )
        .await;
    h.ensure(reply.body["completed_at"].is_string(), || {
        format!("mark_completed did not complete: {}", reply.body)
    });
    let reply = h
        .call(
            patch(format!("/api/v1/tasks/{b}/mark_completed")).body(
                FORM,
                "administration_id=81&completed_status=failed&resume_dossiers=false",
            ),
            200,
        )
        .await;
    h.ensure(
        reply.body["completed_at"].is_string() && reply.body.get("comments").is_none(),
        || format!("mark_completed (form): {}", reply.body),
    );
    for id in [a, done[0], done[1]] {
        let reply = h
            .call(
                patch(format!("/v1/tasks/{id}/mark_completed")).body(FORM, "administration_id=81"),
                422,
            )
            .await;
        h.ensure(reply.body["code"] == "invalid_state", || {
            format!("mark_completed of completed task {id}: {}", reply.body)
        });
    }
    let mark = format!("/v1/tasks/{}/mark_completed", open[2]);
    for body in [
        json!({"administration_id": "81", "completed_status": "done"}),
        json!({"administration_id": "81", "resume_dossiers": "maybe"}),
        json!({"administration_id": "81", "comment": {"x": 1}}),
        json!({"administration_id": "81", "fields": "not-json"}),
        json!({}),
    ] {
        h.call(patch(&mark).json(body), 422).await;
    }
    h.call(
        patch("/v1/tasks/999999999/mark_completed").body(FORM, "administration_id=81"),
        404,
    )
    .await;
    h.call(patch(&mark).body(FORM, "administration_id=83"), 403).await;
    h.call(patch(&mark).auth(Auth::Missing).body(FORM, "administration_id=81"), 401)
        .await;
    h.call(Req::get(&mark).admin(81), 405).await;

    // unmark_completed: completed -> open; open -> unchanged 200.
    for (id, prefix) in [(a, "/v1"), (done[2], "/api/v1"), (open[2], "/v1")] {
        let reply = h
            .call(
                patch(format!("{prefix}/tasks/{id}/unmark_completed")).body(FORM, "administration_id=81"),
                200,
            )
            .await;
        h.ensure(
            reply.body["completed_at"].is_null() && reply.body.get("completed_at").is_some(),
            || format!("unmark_completed of task {id}: {}", reply.body),
        );
    }
    h.call(
        patch(format!("/v1/tasks/{a}/unmark_completed"))
            .fields(json!({"only": ["id", "completed_at"]}))
            .json(json!({"administration_id": 81})),
        200,
    )
    .await;
    let unmark = format!("/v1/tasks/{a}/unmark_completed");
    h.call(
        patch("/v1/tasks/999999999/unmark_completed").body(FORM, "administration_id=81"),
        404,
    )
    .await;
    h.call(patch(&unmark).body(FORM, "administration_id=83"), 403).await;
    h.call(patch(&unmark).body(FORM, ""), 422).await;
    h.call(
        patch(&unmark).auth(Auth::Missing).body(FORM, "administration_id=81"),
        401,
    )
    .await;
    h.call(Req::new(Method::PUT, &unmark).body(FORM, "administration_id=81"), 405)
        .await;
}

/// A debtor, invoice and credit case of administration 81 by their business keys:
/// (debtor_number, debtor_identifier, invoice_number, invoice_identifier, credit_case_number).
fn targets(mock: &MockPayt) -> (String, String, String, String, String) {
    mock.state().store.read(|db| {
        let d = db.debtors.iter(&81).next().expect("a debtor");
        let i = db
            .invoices
            .iter(&81)
            .find(|i| i.invoice_identifier.is_some())
            .expect("an invoice with an identifier");
        let c = db.credit_cases.iter(&81).next().expect("a credit case");
        (
            d.debtor_number.clone(),
            d.debtor_identifier.clone(),
            i.invoice_number.to_string(),
            i.invoice_identifier.as_deref().unwrap_or_default().to_owned(),
            c.credit_case_number.clone(),
        )
    })
}

async fn messages(h: &mut Harness, mock: &MockPayt) {
    let r = Resource {
        name: "messages",
        full: selection(
            h.spec.required("CustomerApi_V1_MessageEntity"),
            &[
                "content",
                "subject",
                "credit_case_id",
                "debtor_id",
                "invoice_id",
                "sent_at",
                "received_at",
                "read_at",
            ],
            &[("read_by_user", h.spec.required("CustomerApi_V1_UserEntity"))],
        ),
        opt_in: &["content"],
        narrow: json!({"only": ["id", "content", {"read_by_user": ["name"]}]}),
    };
    let full = list_and_show(h, &r).await;
    for (param, key) in [
        ("debtor_ids", "debtor_id"),
        ("invoice_ids", "invoice_id"),
        ("credit_case_ids", "credit_case_id"),
    ] {
        let value = full
            .iter()
            .find_map(|m| m[key].as_str().map(str::to_string))
            .unwrap_or_default();
        filter(h, "messages", &full, param, &value, |m| m[key] == value.as_str()).await;
    }

    // POST: one of each target.
    let (debtor_number, debtor_identifier, invoice_number, invoice_identifier, case_number) = targets(mock);
    let message = json!({"subject": "Uw factuur", "body": "Zie bijlage.", "cc_email": "a@example.nl, b@example.nl"});
    let mut sent = Vec::new();
    for (key, value) in [
        ("debtor_number", &debtor_number),
        ("debtor_identifier", &debtor_identifier),
        ("invoice_number", &invoice_number),
        ("invoice_identifier", &invoice_identifier),
        ("credit_case_number", &case_number),
    ] {
        let reply = h
            .call(
                Req::post("/v1/messages").json(json!({"administration_id": "81", key: value, "message": message})),
                200,
            )
            .await;
        h.ensure(
            reply.body["sender_type"] == "creditor"
                && reply.body["sent_at"].is_string()
                && reply.body["debtor_id"].is_string(),
            || format!("POST /v1/messages with {key}: {}", reply.body),
        );
        sent.push(reply.body["id"].as_str().unwrap_or_default().to_string());
    }
    let reply = h
        .call(
            Req::post("/api/v1/messages").body(
                FORM,
                format!(
                    "administration_id=81&invoice_number={invoice_number}&message[subject]=Vraag&message[body]=Tekst&message[email]=x%40example.nl"
                ),
            ),
            200,
        )
        .await;
    h.ensure(reply.body["invoice_id"].is_string(), || {
        format!("form POST /v1/messages: {}", reply.body)
    });
    let shown = h
        .call(
            Req::get(format!("/v1/messages/{}", sent[0]))
                .admin(81)
                .fields(json!({"only": ["id", "content", "subject"]})),
            200,
        )
        .await;
    h.ensure(shown.body["content"] == "Zie bijlage.", || {
        format!("the sent message's content: {}", shown.body)
    });

    let with = |extra: Value| {
        let mut body = json!({"administration_id": "81", "debtor_number": debtor_number, "message": message});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        body
    };
    for body in [
        json!({"administration_id": "81", "message": message}),
        with(json!({"invoice_number": invoice_number})),
        with(json!({"message": {"body": "x"}})),
        with(json!({"message": {"subject": "x"}})),
        with(json!({"message": "hello"})),
        with(json!({"message": null})),
        with(json!({"message": {"subject": "x", "body": "y", "email": "not-an-address"}})),
        with(json!({"message": {"subject": "x", "body": "y", "cc_email": "a@example.nl, nope"}})),
        with(json!({"message": {"subject": "x", "body": "y", "attachments": "file"}})),
        with(json!({"administration_id": null})),
    ] {
        h.call(Req::post("/v1/messages").json(body), 422).await;
    }
    h.call(Req::post("/v1/messages").body(JSON, "{"), 422).await;
    for (key, value) in [
        ("debtor_number", "NO-SUCH-DEBTOR"),
        ("debtor_identifier", "nope"),
        ("invoice_number", "NO-SUCH-INVOICE"),
        ("invoice_identifier", "nope"),
        ("credit_case_number", "INC-0-00000"),
    ] {
        h.call(
            Req::post("/v1/messages").json(json!({"administration_id": "81", key: value, "message": message})),
            404,
        )
        .await;
    }
    h.call(
        Req::post("/v1/messages").json(with(json!({"administration_id": "83"}))),
        403,
    )
    .await;
    h.call(Req::post("/v1/messages").auth(Auth::Missing).json(with(json!({}))), 401)
        .await;
    h.call(Req::post("/v1/messages").body("text/plain", "hi"), 415).await;

    // PATCH: read and unread, record by record.
    let reply = h
        .call(
            patch("/v1/messages").json(json!({"administration_id": "81", "messages": [
                {"id": sent[0], "read": true},
                {"id": sent[1], "read": false},
                {"id": "999999999", "read": true},
                {"id": sent[2]}
            ]})),
            200,
        )
        .await;
    h.ensure(
        reply.body["count"] == 2 && reply.body["errors"]["999999999"] == json!(["message_not_found"]),
        || format!("PATCH /v1/messages: {}", reply.body),
    );
    h.call(
        patch("/api/v1/messages").body(
            FORM,
            format!("administration_id=81&messages[][id]={}&messages[][read]=false", sent[0]),
        ),
        200,
    )
    .await;
    for body in [
        json!({"administration_id": "81"}),
        json!({"administration_id": "81", "messages": {"id": "1"}}),
        json!({"messages": []}),
    ] {
        h.call(patch("/v1/messages").json(body), 422).await;
    }
    h.call(
        patch("/v1/messages").json(json!({"administration_id": "83", "messages": []})),
        403,
    )
    .await;
    h.call(
        patch("/v1/messages")
            .auth(Auth::Missing)
            .json(json!({"administration_id": "81", "messages": []})),
        401,
    )
    .await;
}

/// The list checks of `list_and_show` for a resource without a show route.
async fn list_only(h: &mut Harness, r: &Resource) -> Vec<Value> {
    let name = r.name;
    let mut all = Vec::new();
    for prefix in PREFIXES {
        let reply = h
            .call(Req::get(format!("{prefix}/{name}")).admin(81).q("per_page", 500), 200)
            .await;
        all.push(data(&reply.body));
    }
    let full = all.swap_remove(0);
    h.ensure(full == all[0], || format!("/v1 and /api/v1 {name} lists differ"));
    h.ensure(full.len() >= 6, || {
        format!("{name}: administration 81 has only {}", full.len())
    });
    h.ensure(full.iter().all(|i| i["administration_id"] == "81"), || {
        format!("{name}: a record of another administration is listed under 81")
    });
    let full_ids = ids(&full);

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..=full.len() / 7 + 1 {
        let mut req = Req::get(format!("/v1/{name}")).admin(81).q("per_page", 7);
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
    h.ensure(seen == full_ids, || {
        format!("{name}: paging by 7 differs from the full list")
    });

    let wanted = [full_ids[0].clone(), full_ids[3].clone()];
    let reply = h
        .call(
            Req::get(format!("/v1/{name}")).admin(81).q("ids", wanted.join(",")),
            200,
        )
        .await;
    h.ensure(ids(&data(&reply.body)) == wanted, || {
        format!("{name} ids: {}", reply.body)
    });

    let mut stamps: Vec<&str> = full
        .iter()
        .map(|i| i["updated_at"].as_str().unwrap_or_default())
        .collect();
    stamps.sort_unstable();
    let after = stamps[stamps.len() / 2].to_string();
    filter(h, name, &full, "updated_after", &after, |i| {
        i["updated_at"].as_str().unwrap_or_default() > after.as_str()
    })
    .await;

    let reply = h
        .call(
            Req::get(format!("/v1/{name}"))
                .admin(81)
                .q("per_page", 5)
                .fields(r.full.clone()),
            200,
        )
        .await;
    for item in data(&reply.body) {
        let absent: Vec<_> = r.opt_in.iter().filter(|p| item.get(**p).is_none()).collect();
        h.ensure(absent.is_empty(), || {
            format!("{name}: opt-in {absent:?} not shown: {item}")
        });
    }
    h.call(
        Req::get(format!("/api/v1/{name}"))
            .admin(81)
            .q("per_page", 5)
            .fields(r.narrow.clone()),
        200,
    )
    .await;
    let other = h
        .call(Req::get(format!("/v1/{name}")).admin(82).q("per_page", 1), 200)
        .await;
    let other_id = ids(&data(&other.body)).into_iter().next().unwrap_or_default();
    let reply = h
        .call(Req::get(format!("/v1/{name}")).admin(81).q("ids", &other_id), 200)
        .await;
    h.ensure(data(&reply.body).is_empty(), || format!("{name}: 82's record under 81"));

    h.call(Req::get(format!("/v1/{name}")).admin(83), 403).await;
    h.call(Req::get(format!("/v1/{name}")), 400).await;
    for (param, value) in [
        ("administration_id", "abc"),
        ("per_page", "0"),
        ("per_page", "501"),
        ("cursor", "abc"),
        ("updated_after", "yesterday"),
        ("fields", "not-json"),
    ] {
        let mut req = Req::get(format!("/v1/{name}")).q(param, value);
        if param != "administration_id" {
            req = req.admin(81);
        }
        h.call(req, 400).await;
    }
    h.call(Req::get(format!("/v1/{name}")).admin(81).auth(Auth::Missing), 401)
        .await;
    h.call(Req::new(Method::PUT, format!("/api/v1/{name}")).admin(81), 405)
        .await;
    // No show route.
    h.call(Req::get(format!("/v1/{name}/{}", full_ids[0])).admin(81), 404)
        .await;
    full
}

async fn notes(h: &mut Harness) {
    let r = Resource {
        name: "notes",
        full: selection(
            h.spec.required("CustomerApi_V1_NoteEntity"),
            &[
                "credit_case_id",
                "debtor_id",
                "invoice_id",
                "from_email_address",
                "completed_at",
            ],
            &[("user", h.spec.required("CustomerApi_V1_UserEntity"))],
        ),
        opt_in: &[],
        narrow: json!({"only": ["id", "content", {"user": ["name"]}]}),
    };
    let full = list_only(h, &r).await;
    for (param, key) in [
        ("debtor_ids", "debtor_id"),
        ("invoice_ids", "invoice_id"),
        ("credit_case_ids", "credit_case_id"),
    ] {
        let value = full
            .iter()
            .find_map(|m| m[key].as_str().map(str::to_string))
            .unwrap_or_default();
        filter(h, "notes", &full, param, &value, |m| m[key] == value.as_str()).await;
    }
    h.call(Req::post("/v1/notes").json(json!({"administration_id": "81"})), 405)
        .await;
    h.call(Req::new(Method::DELETE, "/v1/notes").admin(81), 405).await;
}

/// A debtor of administration 81 without a mandate, and its identifier.
fn debtor_without_mandate(mock: &MockPayt) -> (u64, String, String) {
    mock.state().store.read(|db| {
        db.debtors
            .iter(&81)
            .find(|d| db.psp_mandates.iter(&81).all(|m| m.debtor_id != d.id))
            .map(|d| (d.id, d.debtor_identifier.clone(), d.debtor_number.clone()))
            .expect("a debtor without a mandate")
    })
}

async fn psp_mandates(h: &mut Harness, mock: &MockPayt) {
    let r = Resource {
        name: "psp_mandates",
        full: selection(
            h.spec.required("CustomerApi_V1_PspMandateEntity"),
            &["debtor_number", "mandate_reference", "deactivated_at"],
            &[],
        ),
        opt_in: &["debtor_number"],
        narrow: json!({"only": ["id", "debtor_number", "provider"]}),
    };
    let full = list_only(h, &r).await;
    let debtor = full[0]["debtor_id"].as_str().unwrap_or_default().to_string();
    filter(h, "psp_mandates", &full, "debtor_ids", &debtor, |m| {
        m["debtor_id"] == debtor.as_str()
    })
    .await;
    let number = mock
        .state()
        .store
        .read(|db| db.debtors.get(&81, &debtor).map(|d| d.debtor_number.clone()))
        .unwrap_or_default();
    filter(
        h,
        "psp_mandates",
        &full,
        "debtor_numbers",
        &format!("nope,{number}"),
        |m| m["debtor_id"] == debtor.as_str(),
    )
    .await;

    // POST: 200 (not 201) with one entity, the first.
    let (debtor_id, identifier, debtor_number) = debtor_without_mandate(mock);
    let reply = h
        .call(
            Req::post("/v1/psp_mandates").json(json!({"administration_id": "81", "psp_mandates": [
                {"bank_account_name": "J. de Vries", "bank_account_number": "NL91 ABNA 0417 1643 00",
                 "provider_code": "twikey", "debtor_id": debtor_id.to_string(), "mandate_reference": "SPEC-REF-1"},
                {"bank_account_name": "J. de Vries", "bank_account_number": "NL20INGB0001234567",
                 "provider_code": "mollie", "debtor_code": identifier, "mandate_identifier": "mdt_spec000001"}
            ]})),
            200,
        )
        .await;
    h.ensure(
        reply.body["mandate_reference"] == "SPEC-REF-1"
            && reply.body["bank_account_number"] == "NL91ABNA0417164300"
            && reply.body["provider"] == "twikey",
        || format!("POST /v1/psp_mandates answers the first mandate: {}", reply.body),
    );
    let created = reply.body["id"].as_str().unwrap_or_default().to_string();
    h.call(
        Req::post("/api/v1/psp_mandates")
            .fields(json!({"only": ["id", "debtor_number", "mandate_identifier"]}))
            .body(
                FORM,
                format!(
                    "administration_id=81&psp_mandates[][bank_account_name]=Jan&psp_mandates[][bank_account_number]=NL44RABO0123456789\
                     &psp_mandates[][provider_code]=mollie&psp_mandates[][debtor_code]={debtor_number}"
                ),
            ),
        200,
    )
    .await;
    let item = json!({"bank_account_name": "X", "bank_account_number": "NL20INGB0001234567", "provider_code": "twikey", "debtor_id": debtor_id.to_string()});
    let with = |change: Value| {
        let mut i = item.clone();
        if let (Some(o), Some(c)) = (i.as_object_mut(), change.as_object()) {
            for (k, v) in c {
                if v.is_null() {
                    o.remove(k);
                } else {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
        json!({"administration_id": "81", "psp_mandates": [i]})
    };
    for body in [
        with(json!({"bank_account_name": null})),
        with(json!({"bank_account_number": null})),
        with(json!({"bank_account_number": "NL00INGB0001234567"})),
        with(json!({"provider_code": null})),
        with(json!({"provider_code": "gocardless"})),
        with(json!({"debtor_id": null})),
        with(json!({"debtor_id": "999999999"})),
        with(json!({"debtor_id": null, "debtor_code": "nope"})),
        with(json!({"mandate_reference": "SPEC-REF-1"})),
        with(json!({"mandate_identifier": "mdt_spec000001", "provider_code": "mollie"})),
        json!({"administration_id": "81", "psp_mandates": []}),
        json!({"administration_id": "81", "psp_mandates": "x"}),
        json!({"administration_id": "81"}),
        json!({"psp_mandates": [item]}),
    ] {
        h.call(Req::post("/v1/psp_mandates").json(body), 422).await;
    }
    h.call(
        Req::post("/v1/psp_mandates").json(json!({"administration_id": "83", "psp_mandates": [item]})),
        403,
    )
    .await;
    h.call(
        Req::post("/v1/psp_mandates")
            .auth(Auth::Missing)
            .json(json!({"administration_id": "81", "psp_mandates": [item]})),
        401,
    )
    .await;

    // DELETE: by id, reference, identifier and debtor number; unknown values are record errors.
    let reply = h
        .call(
            Req::new(Method::DELETE, "/v1/psp_mandates")
                .admin(81)
                .q("psp_mandate_ids", format!("{created},999999999")),
            200,
        )
        .await;
    h.ensure(
        reply.body["count"] == 1 && reply.body["errors"]["999999999"] == json!(["psp_mandate_not_found"]),
        || format!("DELETE /v1/psp_mandates: {}", reply.body),
    );
    let gone = h
        .call(
            Req::get("/v1/psp_mandates/deleted")
                .admin(81)
                .q("deleted_after", "2026-01-01T00:00:00Z")
                .q("per_page", 500),
            200,
        )
        .await;
    h.ensure(ids(&data(&gone.body)).contains(&created), || {
        format!("the deleted mandate {created} is not in /deleted: {}", gone.body)
    });
    let m = &full[1];
    for (param, key) in [("mandate_identifiers", "mandate_identifier"), ("debtor_numbers", "")] {
        let value = if key.is_empty() {
            let d = full[2]["debtor_id"].as_str().unwrap_or_default();
            mock.state()
                .store
                .read(|db| db.debtors.get(&81, d).map(|d| d.debtor_number.clone()))
                .unwrap_or_default()
        } else {
            m[key].as_str().unwrap_or_default().to_string()
        };
        let reply = h
            .call(
                Req::new(Method::DELETE, "/api/v1/psp_mandates")
                    .admin(81)
                    .q(param, value),
                200,
            )
            .await;
        h.ensure(reply.body["count"].as_u64().unwrap_or_default() >= 1, || {
            format!("DELETE by {param}: {}", reply.body)
        });
    }
    if let Some(reference) = full.iter().find_map(|m| m["mandate_reference"].as_str()) {
        h.call(
            Req::new(Method::DELETE, "/v1/psp_mandates")
                .admin(81)
                .q("mandate_references", reference),
            200,
        )
        .await;
    }
    h.call(Req::new(Method::DELETE, "/v1/psp_mandates").admin(81), 400)
        .await;
    h.call(
        Req::new(Method::DELETE, "/v1/psp_mandates").q("psp_mandate_ids", "1"),
        400,
    )
    .await;
    h.call(
        Req::new(Method::DELETE, "/v1/psp_mandates")
            .admin(83)
            .q("psp_mandate_ids", "1"),
        403,
    )
    .await;
    h.call(
        Req::new(Method::DELETE, "/v1/psp_mandates")
            .admin(81)
            .q("psp_mandate_ids", "1")
            .auth(Auth::Missing),
        401,
    )
    .await;
    h.call(patch("/v1/psp_mandates").json(json!({"administration_id": "81"})), 405)
        .await;
}

async fn psp_transactions(h: &mut Harness) {
    let r = Resource {
        name: "psp_transactions",
        full: selection(
            h.spec.required("CustomerApi_V1_PspTransactionEntity"),
            &["bank_account_name", "bank_account_number", "reversal_code", "paid_at"],
            &[],
        ),
        opt_in: &[],
        narrow: json!({"only": ["id", "status", "payment_method", "invoice_ids"]}),
    };
    let full = list_and_show(h, &r).await;
    for status in [
        "cancelled",
        "charged_back",
        "failed",
        "paid",
        "pending",
        "processing",
        "refunded",
    ] {
        filter(h, "psp_transactions", &full, "statuses", status, |t| {
            t["status"] == status
        })
        .await;
    }
    filter(h, "psp_transactions", &full, "statuses", "paid,refunded", |t| {
        t["status"] == "paid" || t["status"] == "refunded"
    })
    .await;
    filter(h, "psp_transactions", &full, "payment_methods", "ideal", |t| {
        t["payment_method"] == "ideal"
    })
    .await;
    filter(
        h,
        "psp_transactions",
        &full,
        "payment_methods",
        "ideal,creditcard",
        |t| t["payment_method"] == "ideal" || t["payment_method"] == "creditcard",
    )
    .await;
    // Both filters at once.
    let expected: Vec<String> = ids(&full
        .iter()
        .filter(|t| t["payment_method"] == "ideal" && t["status"] == "paid")
        .cloned()
        .collect::<Vec<_>>());
    let reply = h
        .call(
            Req::get("/api/v1/psp_transactions")
                .admin(81)
                .q("per_page", 500)
                .q("payment_methods", "ideal")
                .q("statuses", "paid"),
            200,
        )
        .await;
    h.ensure(!expected.is_empty() && ids(&data(&reply.body)) == expected, || {
        format!(
            "payment_methods=ideal&statuses=paid: expected {expected:?}, got {}",
            reply.body
        )
    });
    for (param, value) in [
        ("statuses", "paid,settled"),
        ("statuses", "PAID"),
        ("payment_methods", "ideal,cash"),
    ] {
        h.call(Req::get("/v1/psp_transactions").admin(81).q(param, value), 400)
            .await;
    }
}
