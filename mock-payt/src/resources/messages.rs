//! Messages: `POST /v1/messages` (send one to a debtor), `PATCH /v1/messages` (mark read or
//! unread), `GET /v1/messages` and `GET /v1/messages/{id}`.
//!
//! A message goes to exactly one target: a debtor (`debtor_number` or `debtor_identifier`), an
//! invoice (`invoice_number` or `invoice_identifier`) or a credit case (`credit_case_number`). The
//! message records the target and its debtor (`debtor_id`, plus `invoice_id` or `credit_case_id`).
//! A sent message has `sender_type` `creditor` and `sent_at`; a message a debtor wrote (seeded) has
//! `sender_type` `debtor` and `received_at`. Without `email` the message goes to the debtor's
//! primary address (if there is none it is shown in the debtor portal only). The body is the
//! opt-in `content` property.

use axum::extract::State;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{Body, Problem, bad, body_bool, is_email, opt_str, req_object, req_str};
use crate::bulk::Bulk;
use crate::error::PaytError;
use crate::list;
use crate::params::parse_id;
use crate::resources::User;
use crate::resources::payment_plans::api_user;
use crate::seed::{Gen, Targets};
use crate::state::{AppState, Caller, Db};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["content"];

/// `CustomerApi_V1_MessageEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `creditor` (sent by the administration) or `debtor` (written by the debtor).
    pub sender_type: String,
    /// Subject.
    pub subject: Option<String>,
    /// Who marked it read.
    pub read_by_user: Option<User>,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The credit case it is about.
    #[serde(with = "crate::format::opt_id")]
    pub credit_case_id: Option<u64>,
    /// The debtor it is to or from.
    #[serde(with = "crate::format::opt_id")]
    pub debtor_id: Option<u64>,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// The invoice it is about.
    #[serde(with = "crate::format::opt_id")]
    pub invoice_id: Option<u64>,
    /// Opt-in: the text.
    pub content: Option<String>,
    /// Sent (creditor messages).
    #[serde(with = "crate::format::opt_ts")]
    pub sent_at: Option<DateTime<Utc>>,
    /// Received (debtor messages).
    #[serde(with = "crate::format::opt_ts")]
    pub received_at: Option<DateTime<Utc>>,
    /// First read.
    #[serde(with = "crate::format::opt_ts")]
    pub read_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// The address it was sent to (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub email: Option<String>,
    /// CC addresses (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub cc_email: Vec<String>,
    /// BCC addresses (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub bcc_email: Vec<String>,
}

administration_record!(Message, changed = updated_at);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/messages",
            list::list_route("messages:read", OPT_IN, |db| &db.messages, list::related)
                .post(create)
                .patch(update),
        )
        .route(
            "/messages/{id}",
            list::show_route("messages:read", "Message", OPT_IN, |db| &db.messages),
        )
}

impl list::Related for Message {
    fn related(&self) -> (Option<u64>, Option<u64>, Option<u64>) {
        (self.debtor_id, self.invoice_id, self.credit_case_id)
    }
}

/// A comma-separated address list (`cc_email`, `bcc_email`).
fn emails(raw: Option<String>, path: &str) -> Result<Vec<String>, Problem> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if is_email(s) {
                Ok(s.to_string())
            } else {
                Err(bad(format!(
                    "{path} contains {s:?}, which is not an e-mail address; separate addresses with commas"
                )))
            }
        })
        .collect()
}

/// The target keys, in the order the spec lists them.
const TARGETS: [&str; 5] = [
    "debtor_number",
    "debtor_identifier",
    "invoice_number",
    "invoice_identifier",
    "credit_case_number",
];

/// Who a message goes to: `(debtor_id, invoice_id, credit_case_id)`.
type Target = (u64, Option<u64>, Option<u64>);

fn resolve(db: &Db, admin: u64, key: &str, value: &str) -> Option<Target> {
    match key {
        "debtor_number" => db
            .debtors
            .lookup(&admin, "number", value)
            .next()
            .map(|d| (d.id, None, None)),
        "debtor_identifier" => db
            .debtors
            .lookup(&admin, "identifier", value)
            .next()
            .map(|d| (d.id, None, None)),
        "invoice_number" => db
            .invoices
            .lookup(&admin, "number", value)
            .next()
            .map(|i| (i.debtor_id, Some(i.id), None)),
        "invoice_identifier" => db
            .invoices
            .lookup(&admin, "identifier", value)
            .next()
            .map(|i| (i.debtor_id, Some(i.id), None)),
        // The first case (lowest id) whose formatted or plain number it is.
        _ => db
            .credit_cases
            .lookup(&admin, "number", value)
            .chain(db.credit_cases.lookup(&admin, "case_number", value))
            .min_by_key(|c| c.id)
            .map(|c| (c.debtor_id, None, Some(c.id))),
    }
}

fn kind_of(key: &str) -> &'static str {
    match key {
        "debtor_number" | "debtor_identifier" => "Debtor",
        "invoice_number" | "invoice_identifier" => "Invoice",
        _ => "CreditCase",
    }
}

async fn create(State(state): State<AppState>, caller: Caller, body: Body) -> Result<Json<Value>, PaytError> {
    let admin = body.authorize(&state, &caller, "messages:write")?;
    let message = req_object(
        &body.0,
        "message",
        "",
        "an object with subject and body (message[subject], message[body])",
    )?;
    let subject = req_str(message, "subject", "message")?;
    let content = req_str(message, "body", "message")?;
    let email = opt_str(message, "email", "message")?;
    if let Some(e) = &email
        && !is_email(e)
    {
        return Err(bad(format!("message[email] {e:?} is not an e-mail address")).into());
    }
    let cc_email = emails(opt_str(message, "cc_email", "message")?, "message[cc_email]")?;
    let bcc_email = emails(opt_str(message, "bcc_email", "message")?, "message[bcc_email]")?;
    match message.get("attachments") {
        Some(Value::Array(items)) if items.len() > crate::limits::MAX_ATTACHMENTS => {
            return Err(
                crate::limits::too_many("message[attachments]", items.len(), crate::limits::MAX_ATTACHMENTS).into(),
            );
        }
        None | Some(Value::Null) | Some(Value::Array(_)) => {}
        Some(_) => {
            return Err(bad("message[attachments] must be a list of files (multipart uploads)".to_string()).into());
        }
    }
    let mut targets = Vec::new();
    for key in TARGETS {
        if let Some(v) = opt_str(&body.0, key, "")? {
            targets.push((key, v));
        }
    }
    let (key, value) = match targets.as_slice() {
        [] => {
            return Err(PaytError::unprocessable(
                "missing_target",
                "give exactly one of debtor_number, debtor_identifier, invoice_number, invoice_identifier or credit_case_number",
            ));
        }
        [one] => one.clone(),
        many => {
            let names: Vec<&str> = many.iter().map(|(k, _)| *k).collect();
            return Err(PaytError::unprocessable(
                "multiple_targets",
                format!(
                    "give exactly one target, got {}; send separate messages for separate targets",
                    names.join(", ")
                ),
            ));
        }
    };
    let now = state.now();
    let record = state.store.write(|db| {
        let (debtor_id, invoice_id, credit_case_id) = resolve(db, admin, key, &value)
            .ok_or_else(|| PaytError::NotFound(format!("Couldn't find {} with '{key}'={value}", kind_of(key))))?;
        let to = email.clone().or_else(|| {
            db.debtors
                .get(&admin, &debtor_id.to_string())
                .and_then(|d| d.primary_email_address.as_deref().map(str::to_owned))
        });
        let m = Message {
            sender_type: "creditor".to_string(),
            subject: Some(subject.clone()),
            read_by_user: None,
            administration_id: admin,
            credit_case_id,
            debtor_id: Some(debtor_id),
            id: state.ids.next_seq(),
            invoice_id,
            content: Some(content.clone()),
            sent_at: Some(now),
            received_at: None,
            read_at: None,
            updated_at: now,
            email: to,
            cc_email: cc_email.clone(),
            bcc_email: bcc_email.clone(),
        };
        db.messages
            .insert(m.clone())
            .map_err(|e| PaytError::unprocessable("conflict", e.to_string()))?;
        Ok::<_, PaytError>(m)
    })?;
    Ok(Json(list::entity(&record, &Default::default(), OPT_IN)?))
}

/// One validated item of a `PATCH /v1/messages` body.
enum Change {
    Read(u64, String, bool),
    Rejected(String, &'static str),
}

async fn update(State(state): State<AppState>, caller: Caller, body: Body) -> Result<Json<Value>, PaytError> {
    let admin = body.authorize(&state, &caller, "messages:write")?;
    let items = body.records("messages", "{id, read}")?;
    let changes: Vec<Change> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(item) = item else {
                return Change::Rejected(format!("messages[{i}]"), "invalid_message");
            };
            let key = match item.get("id") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Change::Rejected(format!("messages[{i}]"), "id_missing"),
            };
            let Some(id) = parse_id(&key) else {
                return Change::Rejected(key, "message_not_found");
            };
            match item.get("read") {
                None | Some(Value::Null) => Change::Rejected(key, "read_missing"),
                Some(v) => match body_bool(v) {
                    Some(read) => Change::Read(id, key, read),
                    None => Change::Rejected(key, "read_invalid"),
                },
            }
        })
        .collect();
    let now = state.now();
    let bulk = state.store.write(|db| {
        let mut bulk = Bulk::new();
        for change in changes {
            match change {
                Change::Rejected(key, code) => bulk.reject(key, code),
                Change::Read(id, key, read) => {
                    let done = db.messages.update(&admin, &id.to_string(), |m| {
                        if read && m.read_at.is_none() {
                            m.read_at = Some(now);
                            m.read_by_user = Some(api_user());
                            m.updated_at = now;
                        } else if !read && (m.read_at.is_some() || m.read_by_user.is_some()) {
                            m.read_at = None;
                            m.read_by_user = None;
                            m.updated_at = now;
                        }
                    });
                    match done {
                        Some(()) => bulk.processed(),
                        None => bulk.reject(key, "message_not_found"),
                    }
                }
            }
        }
        bulk
    });
    Ok(Json(bulk.to_json()))
}

const INCOMING: &[(&str, &str)] = &[
    (
        "Vraag over factuur",
        "Goedemiddag, ik begrijp het bedrag op deze factuur niet helemaal. Kunt u mij een specificatie sturen?",
    ),
    (
        "Betalingsregeling",
        "Beste, door omstandigheden kan ik het bedrag niet in een keer betalen. Is een regeling in drie termijnen mogelijk?",
    ),
    (
        "Factuur al betaald",
        "Wij hebben deze factuur vorige week al voldaan, zie bijgevoegd betaalbewijs. Graag de herinnering intrekken.",
    ),
    (
        "Betwisting levering",
        "De goederen zijn beschadigd geleverd. Wij betalen pas na een creditnota voor de beschadigde artikelen.",
    ),
    (
        "Nieuw factuuradres",
        "Vanaf volgende maand graag alle facturen naar onze crediteurenadministratie sturen.",
    ),
    (
        "Uitstel van betaling",
        "Kunnen wij twee weken uitstel krijgen? Wij verwachten dan een grote betaling van een klant.",
    ),
];

const OUTGOING: &[(&str, &str)] = &[
    (
        "Specificatie van uw factuur",
        "Beste klant, in de bijlage vindt u de specificatie van de factuur waar u om vroeg.",
    ),
    (
        "Bevestiging betalingsregeling",
        "Hierbij bevestigen wij de afgesproken betalingsregeling. U ontvangt per termijn een betaallink.",
    ),
    (
        "Ontvangst betaling",
        "Wij hebben uw betaling ontvangen. De herinnering kunt u als niet verzonden beschouwen.",
    ),
    (
        "Reactie op uw betwisting",
        "Wij hebben uw bezwaar ontvangen en de vordering gepauzeerd tot wij het hebben onderzocht.",
    ),
    (
        "Herinnering openstaand saldo",
        "Volgens onze administratie staat er nog een bedrag open. Wilt u dit binnen 7 dagen voldoen?",
    ),
];

/// Adds 40 to 70 messages for administration `admin`: questions, disputes and payment proposals
/// from debtors (`sender_type` `debtor`, `received_at`; most read by a Payt user) and answers and
/// reminders sent to them (`sender_type` `creditor`, `sent_at`; some read by the debtor), about a
/// debtor, one of its invoices or one of its credit cases. Also seeds the tombstones of deleted
/// credit cases and payment plans (`seed.rs` has no hook for those two resources).
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let emails: Vec<(u64, Option<String>)> = db
        .debtors
        .iter(&admin)
        .map(|d| (d.id, d.primary_email_address.as_deref().map(str::to_owned)))
        .collect();
    let about = Targets::of(db, admin);
    if about.debtors.is_empty() {
        return;
    }
    let anchor = g.f.anchor_at(0);
    let users = g.users.clone();
    for _ in 0..(40 + g.f.int(0, 30)) {
        let (debtor_id, invoice_id, credit_case_id) = match g.f.int(0, 9) {
            0..=3 => about.debtor(g),
            4..=7 if !about.invoices.is_empty() => about.invoice(g),
            _ => about.case(g),
        };
        let email = emails
            .iter()
            .find(|(id, _)| *id == debtor_id)
            .and_then(|(_, e)| e.clone());
        let day = g.f.date_around(-120, -1);
        let at = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()
            + Duration::seconds(g.f.int(7 * 3600, 21 * 3600) as i64);
        let incoming = g.f.chance(0.55);
        let (subject, content) = if incoming {
            *g.f.pick(INCOMING)
        } else {
            *g.f.pick(OUTGOING)
        };
        let read = g.f.chance(if incoming { 0.7 } else { 0.45 });
        let read_at = read.then(|| (at + Duration::minutes(g.f.int(5, 4 * 24 * 60) as i64)).min(anchor));
        let read_by_user = if incoming && read && !users.is_empty() {
            Some(g.f.pick(&users).clone())
        } else {
            None
        };
        let id = g.id();
        crate::seed::put(
            &mut db.messages,
            Message {
                sender_type: if incoming { "debtor" } else { "creditor" }.to_string(),
                subject: Some(subject.to_string()),
                read_by_user,
                administration_id: admin,
                credit_case_id,
                debtor_id: Some(debtor_id),
                id,
                invoice_id,
                content: Some(content.to_string()),
                sent_at: (!incoming).then_some(at),
                received_at: incoming.then_some(at),
                read_at,
                updated_at: read_at.unwrap_or(at),
                email: if incoming { None } else { email },
                cc_email: Vec::new(),
                bcc_email: Vec::new(),
            },
        );
    }
}
