//! Workflow behaviour the contract suite cannot check against Payt itself: the payment-plan and
//! task state machines (every allowed and every refused transition), what a transition does to
//! related invoices and credit cases, message targets and read state, PSP mandate creation and
//! revocation, scopes, and the fixtures of these resources.

use mock_payt::MockPayt;
use mock_payt::resources::payment_plans::state_of;
use mock_payt::state::Grant;
use reqwest::Method;
use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(m: &MockPayt) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: m.uri(),
            token: m.token().to_string(),
        }
    }

    fn as_token(&self, token: &str) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            token: token.to_string(),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(Method::DELETE, path, None).await
    }
}

fn plans(m: &MockPayt, state: &str) -> Vec<u64> {
    m.state().store.read(|db| {
        db.payment_plans
            .iter(&81)
            .filter(|p| state_of(p) == state)
            .map(|p| p.id)
            .collect()
    })
}

fn plan(m: &MockPayt, id: u64) -> mock_payt::resources::payment_plans::PaymentPlan {
    m.state()
        .store
        .read(|db| db.payment_plans.get(&81, &id.to_string()).cloned())
        .expect("plan exists")
}

/// Freezes the mock's clock one second later, so `updated_at` visibly moves.
fn tick(m: &MockPayt) {
    let now = m.state().now() + chrono::Duration::seconds(1);
    m.state().clock.set(now);
}

async fn transition(c: &Client, id: u64, action: &str) -> (u16, Value) {
    c.patch(
        &format!("/v1/payment_plans/{id}/{action}"),
        json!({"administration_id": "81"}),
    )
    .await
}

#[tokio::test]
async fn payment_plan_state_machine_allows_only_the_documented_transitions() {
    let m = MockPayt::test().seed(11).start().await;
    let c = Client::new(&m);
    let proposed = plans(&m, "proposed");
    assert!(proposed.len() >= 2, "fixtures have proposed plans: {proposed:?}");
    let active = plans(&m, "active");
    let rejected = plans(&m, "rejected");
    let deactivated = plans(&m, "deactivated");
    assert!(!active.is_empty() && !rejected.is_empty() && !deactivated.is_empty());

    // Refused before anything moves: every transition from the terminal states, deactivate from
    // proposed, approve/reject from active.
    let mut refused: Vec<(u64, &str)> = vec![
        (proposed[0], "deactivate"),
        (active[0], "approve"),
        (active[0], "reject"),
    ];
    for id in rejected.iter().chain(&deactivated) {
        refused.extend([(*id, "approve"), (*id, "reject"), (*id, "deactivate")]);
    }
    for (id, action) in &refused {
        let before = plan(&m, *id);
        let (status, err) = transition(&c, *id, action).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (422, Some("invalid_state")),
            "{action} of {} plan {id}: {err}",
            state_of(&before)
        );
        assert!(err["message"].as_str().is_some_and(|m| m.contains("only a")), "{err}");
        assert_eq!(plan(&m, *id), before, "a refused {action} changed plan {id}");
    }

    // proposed -> approve -> active; then approve/reject refused, deactivate allowed.
    tick(&m);
    let (status, body) = transition(&c, proposed[0], "approve").await;
    assert_eq!(status, 200, "{body}");
    let p = plan(&m, proposed[0]);
    assert_eq!(state_of(&p), "active");
    assert!(p.active && p.approved_at == Some(p.updated_at));
    assert_eq!(body["approved_at"], json!(mock_payt::format::timestamp(&p.updated_at)));
    for action in ["approve", "reject"] {
        assert_eq!(
            transition(&c, proposed[0], action).await.0,
            422,
            "{action} of an approved plan"
        );
    }
    tick(&m);
    let (status, body) = transition(&c, proposed[0], "deactivate").await;
    assert_eq!(status, 200, "{body}");
    let p = plan(&m, proposed[0]);
    assert_eq!(state_of(&p), "deactivated");
    assert!(!p.active && p.deactivated_at.is_some() && body["deactivated_at"].is_string());
    for action in ["approve", "reject", "deactivate"] {
        assert_eq!(
            transition(&c, proposed[0], action).await.0,
            422,
            "{action} of a deactivated plan"
        );
    }

    // proposed -> reject -> rejected (terminal), by the API user.
    tick(&m);
    let (status, body) = transition(&c, proposed[1], "reject").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], json!(false));
    assert_eq!(
        body["rejected_by_user"],
        json!({"id": "500", "name": "Payt API", "email_address": "api@paytsoftware.com"})
    );
    assert_eq!(body["rejected_at"], body["updated_at"]);
    for action in ["approve", "reject", "deactivate"] {
        assert_eq!(
            transition(&c, proposed[1], action).await.0,
            422,
            "{action} of a rejected plan"
        );
    }

    // active (seeded) -> deactivate.
    let (status, _) = transition(&c, active[0], "deactivate").await;
    assert_eq!(status, 200);
    assert_eq!(state_of(&plan(&m, active[0])), "deactivated");

    // Unknown, other administration, ungranted.
    let other = m
        .state()
        .store
        .read(|db| db.payment_plans.iter(&82).next().map(|p| p.id))
        .expect("a plan in 82");
    assert_eq!(transition(&c, other, "approve").await.0, 404);
    assert_eq!(transition(&c, 999_999_999, "approve").await.0, 404);
    let (status, _) = c
        .patch(
            &format!("/v1/payment_plans/{other}/approve"),
            json!({"administration_id": "83"}),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn approving_links_invoices_and_cases_and_deactivating_unlinks_them() {
    let m = MockPayt::test().seed(3).start().await;
    let c = Client::new(&m);
    let id = plans(&m, "proposed")[0];
    let p = plan(&m, id);
    assert!(!p.invoice_ids.is_empty(), "a proposed plan covers invoices");
    let invoice_keys: Vec<String> = p.invoice_ids.iter().map(u64::to_string).collect();
    let before: Vec<_> = m.state().store.read(|db| {
        invoice_keys
            .iter()
            .map(|k| db.invoices.get(&81, k).cloned().expect("invoice"))
            .collect()
    });
    assert!(before.iter().all(|i| i.active_payment_plan_id.is_none()));
    // The cases holding the plan's invoices.
    let case_ids: Vec<u64> = m.state().store.read(|db| {
        db.credit_cases
            .iter(&81)
            .filter(|c| c.deactivated_at.is_none() && c.active_payment_plan_id.is_none())
            .filter(|c| c.invoice_ids.iter().any(|i| p.invoice_ids.contains(i)))
            .map(|c| c.id)
            .collect()
    });

    tick(&m);
    assert_eq!(transition(&c, id, "approve").await.0, 200);
    let now = m.state().now();
    m.state().store.read(|db| {
        for k in &invoice_keys {
            let i = db.invoices.get(&81, k).expect("invoice");
            assert_eq!(i.active_payment_plan_id, Some(id));
            assert_eq!(i.updated_at, now, "the invoice's updated_at moves");
        }
        for cid in &case_ids {
            let case = db.credit_cases.get(&81, &cid.to_string()).expect("case");
            assert_eq!(case.active_payment_plan_id, Some(id));
            assert_eq!(case.payment_plan_id, Some(id));
            assert_eq!(case.updated_at, now);
        }
    });
    // Through the API too.
    let (_, inv) = c
        .get("/v1/credit_cases?administration_id=81&per_page=500&fields=%7B%22only%22%3A%5B%22id%22%2C%22active_payment_plan_id%22%5D%7D")
        .await;
    for cid in &case_ids {
        let listed = inv["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["id"] == json!(cid.to_string()))
            .expect("case listed");
        assert_eq!(listed["active_payment_plan_id"], json!(id.to_string()));
    }

    tick(&m);
    assert_eq!(transition(&c, id, "deactivate").await.0, 200);
    let now = m.state().now();
    m.state().store.read(|db| {
        for k in &invoice_keys {
            let i = db.invoices.get(&81, k).expect("invoice");
            assert_eq!(i.active_payment_plan_id, None);
            assert_eq!(i.updated_at, now);
        }
        for cid in &case_ids {
            let case = db.credit_cases.get(&81, &cid.to_string()).expect("case");
            assert_eq!((case.active_payment_plan_id, case.payment_plan_id), (None, None));
        }
    });

    // Deactivating a seeded active plan clears the links the fixtures made.
    let active = plans(&m, "active")[0];
    let linked = |m: &MockPayt| {
        m.state().store.read(|db| {
            db.invoices
                .iter(&81)
                .filter(|i| i.active_payment_plan_id == Some(active))
                .count()
                + db.credit_cases
                    .iter(&81)
                    .filter(|c| c.active_payment_plan_id == Some(active))
                    .count()
        })
    };
    assert!(linked(&m) > 0);
    assert_eq!(transition(&c, active, "deactivate").await.0, 200);
    assert_eq!(linked(&m), 0);
}

#[tokio::test]
async fn approving_a_plan_whose_invoice_another_plan_covers_is_refused() {
    let m = MockPayt::test().seed(4).start().await;
    let c = Client::new(&m);
    let id = plans(&m, "proposed")[0];
    let number = m.state().store.read(|db| {
        let p = db.payment_plans.get(&81, &id.to_string()).expect("plan");
        db.invoices
            .get(&81, &p.invoice_ids[0].to_string())
            .map(|i| i.invoice_number.to_string())
            .expect("invoice")
    });
    let (status, created) = c
        .post(
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number],
                   "terms": [{"amount": 10, "due_date": "2027-01-01"}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let before = plan(&m, id);
    let (status, err) = transition(&c, id, "approve").await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("payment_plan_already_active"))
    );
    assert_eq!(plan(&m, id), before);
}

fn tasks(m: &MockPayt, completed: bool) -> Vec<u64> {
    m.state().store.read(|db| {
        db.tasks
            .iter(&81)
            .filter(|t| t.completed_at.is_some() == completed)
            .map(|t| t.id)
            .collect()
    })
}

fn task(m: &MockPayt, id: u64) -> mock_payt::resources::tasks::Task {
    m.state()
        .store
        .read(|db| db.tasks.get(&81, &id.to_string()).cloned())
        .expect("task")
}

#[tokio::test]
async fn task_state_machine_and_comments() {
    let m = MockPayt::test().seed(12).start().await;
    let c = Client::new(&m);
    let open = tasks(&m, false);
    let done = tasks(&m, true);
    assert!(open.len() >= 2 && done.len() >= 2, "{open:?} {done:?}");
    let id = open[0];

    // open -> mark_completed -> completed, with a comment.
    tick(&m);
    let before = task(&m, id);
    let (status, body) = c
        .patch(
            &format!("/v1/tasks/{id}/mark_completed"),
            json!({"administration_id": "81", "completed_status": "failed",
                   "completed_status_message": "Geen gehoor", "comment": "Drie keer gebeld"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let t = task(&m, id);
    let now = m.state().now();
    assert_eq!(t.completed_at, Some(now));
    assert_eq!(t.updated_at, now);
    assert_eq!(
        t.completed_status,
        Some(mock_payt::resources::tasks::CompletedStatus::Failed)
    );
    assert_eq!(t.comments.len(), before.comments.len() + 1);
    assert_eq!(body["completed_at"], json!(mock_payt::format::timestamp(&now)));
    assert!(body.get("comments").is_none(), "comments are opt-in");

    // completed -> mark_completed refused, nothing changes.
    let (status, err) = c
        .patch(
            &format!("/v1/tasks/{id}/mark_completed"),
            json!({"administration_id": "81", "comment": "nog eens"}),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("invalid_state")), "{err}");
    assert_eq!(task(&m, id), t);
    for d in &done {
        let before = task(&m, *d);
        let (status, _) = c
            .patch(
                &format!("/v1/tasks/{d}/mark_completed"),
                json!({"administration_id": 81}),
            )
            .await;
        assert_eq!(status, 422);
        assert_eq!(task(&m, *d), before);
    }

    // completed -> unmark -> open; open -> unmark is a no-op 200.
    tick(&m);
    let (status, body) = c
        .patch(
            &format!("/v1/tasks/{id}/unmark_completed"),
            json!({"administration_id": "81"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let reopened = task(&m, id);
    assert_eq!(reopened.completed_at, None);
    assert_eq!(reopened.completed_status, None);
    assert_eq!(reopened.updated_at, m.state().now());
    assert_eq!(body["completed_at"], Value::Null);
    tick(&m);
    let (status, _) = c
        .patch(
            &format!("/v1/tasks/{id}/unmark_completed"),
            json!({"administration_id": "81"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(task(&m, id), reopened, "unmarking an open task changes nothing");
    // ... and it can be completed again.
    let (status, _) = c
        .patch(
            &format!("/v1/tasks/{id}/mark_completed"),
            json!({"administration_id": "81"}),
        )
        .await;
    assert_eq!(status, 200);

    // A seeded completed task reopens.
    let (status, _) = c
        .patch(
            &format!("/v1/tasks/{}/unmark_completed", done[0]),
            json!({"administration_id": "81"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(task(&m, done[0]).completed_at, None);

    // Comments: 201 SuccessEntity, then visible in the opt-in field, oldest first.
    tick(&m);
    let other = open[1];
    let (status, body) = c
        .post(
            &format!("/v1/tasks/{other}/comment"),
            json!({"administration_id": "81", "comment": "Wacht op reactie"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (201, json!({"success": true, "count": 1, "errors": {}}))
    );
    assert_eq!(task(&m, other).updated_at, m.state().now());
    let (_, shown) = c
        .get(&format!(
            "/v1/tasks/{other}?administration_id=81&fields=%7B%22only%22%3A%5B%22comments%22%5D%7D"
        ))
        .await;
    let last = shown["comments"]
        .as_array()
        .and_then(|c| c.last())
        .cloned()
        .expect("a comment");
    assert_eq!(last["content"], json!("Wacht op reactie"));
    assert!(last["id"].is_string() && last["created_at"].is_string());
    let (status, err) = c
        .post(
            &format!("/v1/tasks/{other}/comment"),
            json!({"administration_id": "81"}),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("missing_parameter")));
    let (status, _) = c
        .post(
            "/v1/tasks/999999999/comment",
            json!({"administration_id": "81", "comment": "x"}),
        )
        .await;
    assert_eq!(status, 404);
    for path in ["mark_completed", "unmark_completed"] {
        let (status, _) = c
            .patch(
                &format!("/v1/tasks/999999999/{path}"),
                json!({"administration_id": "81"}),
            )
            .await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn mark_completed_with_resume_dossiers_resumes_the_paused_case_and_invoice() {
    let m = MockPayt::test().seed(2).start().await;
    let c = Client::new(&m);
    // Pause the case of an open task about a case, then complete the task with resume_dossiers.
    let (task_id, case_id) = m
        .state()
        .store
        .read(|db| {
            db.tasks
                .iter(&81)
                .find(|t| t.completed_at.is_none() && t.credit_case_id.is_some())
                .map(|t| (t.id, t.credit_case_id.unwrap_or_default()))
        })
        .expect("an open task about a case");
    let paused = m.state().now() - chrono::Duration::days(3);
    m.state().store.write(|db| {
        db.credit_cases
            .update(&81, &case_id.to_string(), |c| c.paused_at = Some(paused.into()));
    });
    let (status, _) = c
        .patch(
            &format!("/v1/tasks/{task_id}/mark_completed"),
            json!({"administration_id": "81", "resume_dossiers": false}),
        )
        .await;
    assert_eq!(status, 200);
    let case = |m: &MockPayt| {
        m.state()
            .store
            .read(|db| db.credit_cases.get(&81, &case_id.to_string()).cloned())
            .expect("case")
    };
    assert_eq!(
        case(&m).paused_at,
        Some(paused.into()),
        "resume_dossiers=false leaves it paused"
    );
    c.patch(
        &format!("/v1/tasks/{task_id}/unmark_completed"),
        json!({"administration_id": "81"}),
    )
    .await;
    tick(&m);
    let (status, _) = c
        .patch(
            &format!("/v1/tasks/{task_id}/mark_completed"),
            json!({"administration_id": "81", "resume_dossiers": "true"}),
        )
        .await;
    assert_eq!(status, 200);
    let resumed = case(&m);
    assert_eq!(resumed.paused_at, None);
    assert_eq!(resumed.updated_at, m.state().now());

    // The same for a paused invoice.
    let (task_id, invoice_id) = m
        .state()
        .store
        .read(|db| {
            db.tasks
                .iter(&81)
                .find(|t| t.completed_at.is_none() && t.invoice_id.is_some())
                .map(|t| (t.id, t.invoice_id.unwrap_or_default()))
        })
        .expect("an open task about an invoice");
    m.state().store.write(|db| {
        db.invoices.update(&81, &invoice_id.to_string(), |i| {
            i.paused_at = Some(paused.into());
            i.paused_by_user = true;
        });
    });
    tick(&m);
    let (status, _) = c
        .patch(
            &format!("/v1/tasks/{task_id}/mark_completed"),
            json!({"administration_id": "81", "resume_dossiers": true}),
        )
        .await;
    assert_eq!(status, 200);
    let invoice = m
        .state()
        .store
        .read(|db| db.invoices.get(&81, &invoice_id.to_string()).cloned())
        .expect("invoice");
    assert_eq!((invoice.paused_at, invoice.paused_by_user), (None, false));
    assert_eq!(invoice.updated_at, m.state().now());
}

#[tokio::test]
async fn messages_go_to_one_target_and_can_be_marked_read() {
    let m = MockPayt::test().seed(8).start().await;
    let c = Client::new(&m);
    let (
        debtor_number,
        debtor_id,
        email,
        invoice_number,
        invoice_id,
        invoice_debtor,
        case_number,
        case_id,
        case_debtor,
    ) = m.state().store.read(|db| {
        let d = db
            .debtors
            .iter(&81)
            .find(|d| d.primary_email_address.is_some())
            .expect("debtor");
        let i = db.invoices.iter(&81).next().expect("invoice");
        let cc = db.credit_cases.iter(&81).next().expect("case");
        (
            d.debtor_number.clone(),
            d.id,
            d.primary_email_address.as_deref().map(str::to_owned),
            i.invoice_number.to_string(),
            i.id,
            i.debtor_id,
            cc.credit_case_number.clone(),
            cc.id,
            cc.debtor_id,
        )
    });
    let message = json!({"subject": "Herinnering", "body": "Graag betalen."});
    tick(&m);
    let (status, sent) = c
        .post(
            "/v1/messages",
            json!({"administration_id": "81", "debtor_number": debtor_number, "message": message}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let now = mock_payt::format::timestamp(&m.state().now());
    assert_eq!(sent["sender_type"], "creditor");
    assert_eq!(sent["debtor_id"], json!(debtor_id.to_string()));
    assert_eq!(sent["subject"], "Herinnering");
    assert_eq!(
        (sent["sent_at"].as_str(), sent["updated_at"].as_str()),
        (Some(now.as_str()), Some(now.as_str()))
    );
    assert_eq!(
        (sent["received_at"].clone(), sent["read_at"].clone()),
        (Value::Null, Value::Null)
    );
    assert!(sent.get("content").is_none(), "content is opt-in");
    let id: u64 = sent["id"].as_str().and_then(|s| s.parse().ok()).expect("id");
    let stored = m
        .state()
        .store
        .read(|db| db.messages.get(&81, &id.to_string()).cloned())
        .expect("stored");
    assert_eq!(stored.email, email, "without email the debtor's address is used");
    assert_eq!(stored.content.as_deref(), Some("Graag betalen."));

    let (_, by_invoice) = c
        .post(
            "/v1/messages",
            json!({"administration_id": "81", "invoice_number": invoice_number,
                   "message": {"subject": "s", "body": "b", "email": "boekhouding@example.nl"}}),
        )
        .await;
    assert_eq!(by_invoice["invoice_id"], json!(invoice_id.to_string()));
    assert_eq!(by_invoice["debtor_id"], json!(invoice_debtor.to_string()));
    let (_, by_case) = c
        .post(
            "/v1/messages",
            json!({"administration_id": "81", "credit_case_number": case_number, "message": message}),
        )
        .await;
    assert_eq!(by_case["credit_case_id"], json!(case_id.to_string()));
    assert_eq!(by_case["debtor_id"], json!(case_debtor.to_string()));

    // No target, two targets, unknown target: nothing is stored.
    let count = |m: &MockPayt| m.state().store.read(|db| db.messages.scope_len(&81));
    let before = count(&m);
    for (body, status, code) in [
        (
            json!({"administration_id": "81", "message": message}),
            422,
            "missing_target",
        ),
        (
            json!({"administration_id": "81", "debtor_number": debtor_number, "invoice_number": invoice_number, "message": message}),
            422,
            "multiple_targets",
        ),
        (
            json!({"administration_id": "81", "debtor_number": "nope", "message": message}),
            404,
            "not_found",
        ),
        (
            json!({"administration_id": "81", "debtor_number": debtor_number, "message": {"subject": "s"}}),
            422,
            "missing_parameter",
        ),
    ] {
        let (s, err) = c.post("/v1/messages", body.clone()).await;
        assert_eq!((s, err["code"].as_str()), (status, Some(code)), "{body}");
        assert!(err["message"].is_string());
    }
    assert_eq!(count(&m), before);

    // Read / unread.
    let incoming = m
        .state()
        .store
        .read(|db| {
            db.messages
                .iter(&81)
                .find(|m| m.sender_type == "debtor" && m.read_at.is_none())
                .map(|m| m.id)
        })
        .expect("an unread incoming message");
    tick(&m);
    let (status, res) = c
        .patch(
            "/v1/messages",
            json!({"administration_id": "81", "messages": [{"id": incoming.to_string(), "read": true}, {"id": "1", "read": "yes"}, {"read": true}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        res,
        json!({"success": true, "count": 1, "errors": {"1": ["message_not_found"], "messages[2]": ["id_missing"]}})
    );
    let read = m
        .state()
        .store
        .read(|db| db.messages.get(&81, &incoming.to_string()).cloned())
        .expect("message");
    assert_eq!(read.read_at, Some(m.state().now()));
    assert_eq!(read.updated_at, m.state().now());
    assert_eq!(read.read_by_user.as_ref().map(|u| u.id), Some(500));
    // Reading again keeps the first read_at.
    tick(&m);
    c.patch(
        "/v1/messages",
        json!({"administration_id": "81", "messages": [{"id": incoming, "read": true}]}),
    )
    .await;
    let again = m
        .state()
        .store
        .read(|db| db.messages.get(&81, &incoming.to_string()).cloned())
        .expect("message");
    assert_eq!(again, read, "read_at is the first read");
    let (_, res) = c
        .patch(
            "/v1/messages",
            json!({"administration_id": "81", "messages": [{"id": incoming, "read": false}]}),
        )
        .await;
    assert_eq!(res["count"], 1);
    let unread = m
        .state()
        .store
        .read(|db| db.messages.get(&81, &incoming.to_string()).cloned())
        .expect("message");
    assert_eq!((unread.read_at, unread.read_by_user), (None, None));
    assert_eq!(unread.updated_at, m.state().now());
}

#[tokio::test]
async fn psp_mandates_create_validate_and_revoke() {
    let m = MockPayt::test().seed(9).start().await;
    let c = Client::new(&m);
    let (debtor_id, identifier, number) = m
        .state()
        .store
        .read(|db| {
            db.debtors
                .iter(&81)
                .find(|d| db.psp_mandates.iter(&81).all(|p| p.debtor_id != d.id))
                .map(|d| (d.id, d.debtor_identifier.clone(), d.debtor_number.clone()))
        })
        .expect("a debtor without a mandate");
    let count = |m: &MockPayt| m.state().store.read(|db| db.psp_mandates.scope_len(&81));
    let before = count(&m);

    // An invalid second item: nothing is created.
    let good = json!({"bank_account_name": "A", "bank_account_number": "NL91ABNA0417164300", "provider_code": "twikey", "debtor_id": debtor_id.to_string(), "mandate_reference": "REF-1"});
    let (status, err) = c
        .post(
            "/v1/psp_mandates",
            json!({"administration_id": "81", "psp_mandates": [good, {"bank_account_name": "B", "bank_account_number": "NL91ABNA0417164301", "provider_code": "twikey", "debtor_id": debtor_id.to_string()}]}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("invalid_bank_account_number"))
    );
    assert_eq!(count(&m), before);

    let (status, first) = c
        .post(
            "/v1/psp_mandates",
            json!({"administration_id": "81", "fields": "{\"only\": [\"id\", \"debtor_number\", \"mandate_reference\", \"mandate_identifier\"]}", "psp_mandates": [
                good,
                {"bank_account_name": "B", "bank_account_number": "nl20 ingb 0001 2345 67", "provider_code": "mollie", "debtor_code": identifier}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["debtor_number"], json!(number));
    assert_eq!(first["mandate_reference"], "REF-1");
    assert!(
        first["mandate_identifier"]
            .as_str()
            .is_some_and(|s| s.starts_with("TWK"))
    );
    assert_eq!(count(&m), before + 2);
    let second = m
        .state()
        .store
        .read(|db| db.psp_mandates.iter(&81).last().cloned())
        .expect("second");
    assert_eq!(second.bank_account_number, "NL20INGB0001234567");
    assert!(second.mandate_identifier.starts_with("mdt_"));

    // mandate_reference is unique per administration (also within one request).
    for body in [
        json!({"administration_id": "81", "psp_mandates": [good]}),
        json!({"administration_id": "81", "psp_mandates": [
            {"bank_account_name": "A", "bank_account_number": "NL91ABNA0417164300", "provider_code": "twikey", "debtor_id": debtor_id.to_string(), "mandate_reference": "REF-2"},
            {"bank_account_name": "A", "bank_account_number": "NL91ABNA0417164300", "provider_code": "twikey", "debtor_id": debtor_id.to_string(), "mandate_reference": "REF-2"}
        ]}),
    ] {
        let (status, err) = c.post("/v1/psp_mandates", body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (422, Some("duplicate_mandate_reference"))
        );
    }
    assert_eq!(count(&m), before + 2);
    // In another administration the same reference is free.
    let other_debtor = m
        .state()
        .store
        .read(|db| db.debtors.iter(&82).next().map(|d| d.id))
        .expect("debtor in 82");
    let (status, _) = c
        .post(
            "/v1/psp_mandates",
            json!({"administration_id": "82", "psp_mandates": [{"bank_account_name": "A", "bank_account_number": "NL91ABNA0417164300", "provider_code": "twikey", "debtor_id": other_debtor.to_string(), "mandate_reference": "REF-1"}]}),
        )
        .await;
    assert_eq!(status, 200);

    // DELETE by debtor number revokes both: they leave the list and become tombstones.
    tick(&m);
    let (status, res) = c
        .delete(&format!(
            "/v1/psp_mandates?administration_id=81&debtor_numbers={number},nope"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        res,
        json!({"success": true, "count": 2, "errors": {"nope": ["psp_mandate_not_found"]}})
    );
    assert_eq!(count(&m), before);
    let (_, page) = c
        .get(&format!("/v1/psp_mandates?administration_id=81&debtor_ids={debtor_id}"))
        .await;
    assert_eq!(page["data"], json!([]));
    let (_, gone) = c
        .get("/v1/psp_mandates/deleted?administration_id=81&deleted_after=2026-01-01T00:00:00Z&per_page=500")
        .await;
    let data = gone["data"].as_array().expect("data");
    let ours: Vec<&Value> = data
        .iter()
        .filter(|t| t["debtor_id"] == json!(debtor_id.to_string()))
        .collect();
    assert_eq!(ours.len(), 2, "{gone}");
    let now = mock_payt::format::timestamp(&m.state().now());
    assert!(ours.iter().all(|t| t["deleted_at"] == json!(now)));
    assert_eq!(ours[0]["id"], first["id"]);
    assert_eq!(ours[1]["provider"], "mollie");
    // API deletions come after the fixture tombstones, whatever their ids.
    assert_eq!(data.last().map(|t| t["id"].clone()), Some(json!(second.id.to_string())));

    // Deleting again: nothing to revoke.
    let (status, res) = c
        .delete(&format!(
            "/v1/psp_mandates?administration_id=81&psp_mandate_ids={}",
            second.id
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(res["success"], false);
    assert_eq!(res["count"], 0);
    // No selector: 400.
    assert_eq!(c.delete("/v1/psp_mandates?administration_id=81").await.0, 400);
}

#[tokio::test]
async fn psp_transactions_filters_refuse_unknown_values() {
    let m = MockPayt::test().seed(6).start().await;
    let c = Client::new(&m);
    let (status, err) = c
        .get("/v1/psp_transactions?administration_id=81&statuses=paid,settled")
        .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_parameter")));
    assert!(err["message"].as_str().is_some_and(|s| s.contains("settled")));
    let (status, err) = c
        .get("/v1/psp_transactions?administration_id=81&payment_methods=ideal,cheque")
        .await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().is_some_and(|s| s.contains("cheque")));
    // Every spec value is accepted, even when nothing matches.
    let all = mock_payt::resources::psp_transactions::PAYMENT_METHODS.join(",");
    let (status, page) = c
        .get(&format!(
            "/v1/psp_transactions?administration_id=81&per_page=500&payment_methods={all}"
        ))
        .await;
    assert_eq!(status, 200);
    let (_, everything) = c.get("/v1/psp_transactions?administration_id=81&per_page=500").await;
    assert_eq!(page, everything);
}

#[tokio::test]
async fn scopes_are_enforced_on_every_workflow_route() {
    let m = MockPayt::test().start().await;
    m.state().tokens.insert(
        "ro",
        Grant {
            administrations: None,
            scopes: Some(
                ["payment_plans:read", "tasks:read", "messages:read", "psp_mandates:read"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        },
    );
    let c = Client::new(&m).as_token("ro");
    let body = json!({"administration_id": "81"});
    let cases: Vec<(Method, &str, &str)> = vec![
        (Method::PATCH, "/v1/payment_plans/1/approve", "payment_plans:write"),
        (Method::PATCH, "/v1/payment_plans/1/reject", "payment_plans:write"),
        (Method::PATCH, "/v1/payment_plans/1/deactivate", "payment_plans:write"),
        (Method::POST, "/v1/tasks/1/comment", "tasks:write"),
        (Method::PATCH, "/v1/tasks/1/mark_completed", "tasks:write"),
        (Method::PATCH, "/v1/tasks/1/unmark_completed", "tasks:write"),
        (Method::POST, "/v1/messages", "messages:write"),
        (Method::PATCH, "/v1/messages", "messages:write"),
        (Method::POST, "/v1/psp_mandates", "psp_mandates:write"),
        (
            Method::DELETE,
            "/v1/psp_mandates?administration_id=81&psp_mandate_ids=1",
            "psp_mandates:write",
        ),
        (Method::GET, "/v1/notes?administration_id=81", "notes:read"),
        (
            Method::GET,
            "/v1/psp_transactions?administration_id=81",
            "psp_transactions:read",
        ),
        (
            Method::GET,
            "/v1/psp_transactions/1?administration_id=81",
            "psp_transactions:read",
        ),
        (
            Method::GET,
            "/v1/credit_cases/deleted?administration_id=81&deleted_after=2026-01-01",
            "credit_cases:read",
        ),
    ];
    for (method, path, scope) in cases {
        let b = (method != Method::GET && method != Method::DELETE).then(|| body.clone());
        let (status, err) = c.send(method.clone(), path, b).await;
        assert_eq!(
            (status, err),
            (
                403,
                json!({"code": "forbidden", "message": format!("Missing permission: {scope}")})
            ),
            "{method} {path}"
        );
    }
    // The read scopes it has work.
    for path in [
        "/v1/tasks?administration_id=81",
        "/v1/messages?administration_id=81",
        "/v1/psp_mandates?administration_id=81",
        "/v1/payment_plans/deleted?administration_id=81&deleted_after=2026-01-01",
        "/v1/psp_mandates/deleted?administration_id=81&deleted_after=2026-01-01",
    ] {
        assert_eq!(c.get(path).await.0, 200, "{path}");
    }
}

#[tokio::test]
async fn workflow_fixtures_are_deterministic_realistic_and_related() {
    let a = MockPayt::test().seed(21).start().await;
    let b = MockPayt::test().seed(21).start().await;
    let dump = |m: &MockPayt| {
        m.state().store.read(|db| {
            let mut out = String::new();
            for admin in [81u64, 82, 83] {
                for x in db.messages.iter(&admin) {
                    out += &serde_json::to_string(x).expect("json");
                }
                for x in db.notes.iter(&admin) {
                    out += &serde_json::to_string(x).expect("json");
                }
                for x in db.tasks.iter(&admin) {
                    out += &serde_json::to_string(x).expect("json");
                }
                for x in db.psp_mandates.iter(&admin) {
                    out += &serde_json::to_string(x).expect("json");
                }
                for x in db.deleted_psp_mandates.iter(&admin) {
                    out += &serde_json::to_string(x).expect("json");
                }
                for x in db.psp_transactions.iter(&admin) {
                    out += &serde_json::to_string(x).expect("json");
                }
                for x in db.deleted_credit_cases.iter(&admin) {
                    out += &serde_json::to_string(x).expect("json");
                }
                for x in db.deleted_payment_plans.iter(&admin) {
                    out += &serde_json::to_string(x).expect("json");
                }
            }
            out
        })
    };
    assert_eq!(dump(&a), dump(&b));
    let other = MockPayt::test().seed(22).start().await;
    assert_ne!(dump(&a), dump(&other));

    let window_start = chrono::NaiveDate::from_ymd_opt(2026, 9, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
        .and_utc();
    let anchor = fixtures::at_hour(mock_core::testing::ANCHOR_DATE, 0);
    a.state().store.read(|db| {
        for admin in [81u64, 82, 83] {
            let debtors = db.debtors.scope_len(&admin);
            // Messages both ways, tied to existing records of the same debtor.
            let msgs: Vec<_> = db.messages.iter(&admin).collect();
            assert!(msgs.len() >= 40);
            assert!(
                msgs.iter()
                    .any(|m| m.sender_type == "debtor" && m.received_at.is_some() && m.sent_at.is_none())
            );
            assert!(
                msgs.iter()
                    .any(|m| m.sender_type == "creditor" && m.sent_at.is_some() && m.received_at.is_none())
            );
            for m in &msgs {
                let d = m.debtor_id.expect("every message has a debtor");
                assert!(db.debtors.get(&admin, &d.to_string()).is_some());
                if let Some(i) = m.invoice_id {
                    assert_eq!(db.invoices.get(&admin, &i.to_string()).map(|i| i.debtor_id), Some(d));
                }
                if let Some(c) = m.credit_case_id {
                    assert_eq!(
                        db.credit_cases.get(&admin, &c.to_string()).map(|c| c.debtor_id),
                        Some(d)
                    );
                }
                assert!(m.updated_at <= anchor);
            }
            assert!(db.notes.scope_len(&admin) >= 30);
            // Tasks open and completed, some with comments.
            let tasks: Vec<_> = db.tasks.iter(&admin).collect();
            assert!(tasks.iter().any(|t| t.completed_at.is_some()));
            assert!(tasks.iter().any(|t| t.completed_at.is_none()));
            assert!(tasks.iter().any(|t| !t.comments.is_empty()));
            // Mandates for a share of the debtors, at both providers, valid IBANs.
            let mandates: Vec<_> = db.psp_mandates.iter(&admin).collect();
            assert!(
                mandates.len() * 10 >= debtors && mandates.len() * 2 <= debtors,
                "{} of {debtors}",
                mandates.len()
            );
            for p in ["twikey", "mollie"] {
                assert!(mandates.iter().any(|m| m.provider == p));
            }
            for m in &mandates {
                assert!(mock_core::bank::iban(&m.bank_account_number).is_some());
                assert!(m.bank_account_number.starts_with("NL"));
            }
            // Transactions in every status and many methods.
            let tx: Vec<_> = db.psp_transactions.iter(&admin).collect();
            for s in mock_payt::resources::psp_transactions::STATUSES {
                assert!(tx.iter().any(|t| t.status == s), "admin {admin} has no {s} transaction");
            }
            let methods: std::collections::HashSet<&str> = tx.iter().map(|t| t.payment_method.as_str()).collect();
            assert!(methods.len() >= 8, "{methods:?}");
            // Tombstones inside the 90-day window of the real clock.
            for at in db
                .deleted_credit_cases
                .iter(&admin)
                .map(|t| t.deleted_at)
                .chain(db.deleted_payment_plans.iter(&admin).map(|t| t.deleted_at))
                .chain(db.deleted_psp_mandates.iter(&admin).map(|t| t.deleted_at))
            {
                assert!(at > window_start && at < anchor, "{at}");
            }
            assert!(db.deleted_credit_cases.scope_len(&admin) >= 3);
            assert!(db.deleted_payment_plans.scope_len(&admin) >= 2);
            assert!(db.deleted_psp_mandates.scope_len(&admin) >= 3);
        }
    });
}
