//! Tasks (to-dos for the administration's users): `GET /v1/tasks`, `GET /v1/tasks/{id}`,
//! `POST /v1/tasks/{id}/comment`, `PATCH /v1/tasks/{id}/mark_completed` and
//! `PATCH /v1/tasks/{id}/unmark_completed`.
//!
//! A task is open (`completed_at` null) or completed. `mark_completed` completes an open task
//! (completing a completed one is a 422 `invalid_state`), with an optional `completed_status`
//! (`succeeded`, `failed` or `cleaned_up`), `completed_status_message`, a `comment` (added to the
//! task's comments) and `resume_dossiers` (resumes the paused invoice or credit case the task is
//! about: clears its `paused_at`).
//! `unmark_completed` reopens a completed task; on an open task it changes nothing and answers 200.
//! Comments are shown in the opt-in `comments` property.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{Body, Problem, body_fields, opt_bool, opt_str};
use crate::bulk::Bulk;
use crate::error::PaytError;
use crate::fields::Fields;
use crate::list;
use crate::params::parse_id;
use crate::resources::User;
use crate::seed::{Gen, Targets};
use crate::state::{AppState, Caller, Db};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["comments"];

/// Where a task stands: read from `completed_at` ([`TaskState::of`]); moved only as
/// [`TaskState::can`] allows.
///
/// | state | on | becomes |
/// |---|---|---|
/// | open | `mark_completed` ([`TaskTransition::Complete`]) | completed |
/// | completed | `unmark_completed` ([`TaskTransition::Reopen`]) | open |
///
/// Completing a completed task is a 422 `invalid_state`; reopening an open one changes nothing
/// (and answers 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// `completed_at` is null.
    Open,
    /// `completed_at` is set.
    Completed,
}

/// A transition of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskTransition {
    /// `PATCH .../mark_completed`.
    Complete,
    /// `PATCH .../unmark_completed`.
    Reopen,
}

impl TaskState {
    /// Both states.
    pub const ALL: [TaskState; 2] = [Self::Open, Self::Completed];

    /// The state `task`'s fields describe.
    pub fn of(task: &Task) -> TaskState {
        if task.completed_at.is_some() {
            Self::Completed
        } else {
            Self::Open
        }
    }

    /// The state `t` leads to from this one; `None` if `t` is not allowed here.
    pub fn can(self, t: TaskTransition) -> Option<TaskState> {
        match (self, t) {
            (Self::Open, TaskTransition::Complete) => Some(Self::Completed),
            (Self::Completed, TaskTransition::Reopen) => Some(Self::Open),
            _ => None,
        }
    }
}

impl Task {
    /// Completes the task at `now` as `status` (with `message`), if it is open; a refused
    /// transition changes nothing and answers the state the task is in.
    pub fn complete(
        &mut self,
        now: DateTime<Utc>,
        status: Option<CompletedStatus>,
        message: Option<String>,
    ) -> Result<(), TaskState> {
        let from = TaskState::of(self);
        from.can(TaskTransition::Complete).ok_or(from)?;
        self.completed_at = Some(now);
        self.completed_status = status;
        self.completed_status_message = message;
        self.updated_at = now;
        Ok(())
    }

    /// Reopens the task at `now`, if it is completed (clearing how it was completed); a refused
    /// transition changes nothing and answers the state the task is in.
    pub fn reopen(&mut self, now: DateTime<Utc>) -> Result<(), TaskState> {
        let from = TaskState::of(self);
        from.can(TaskTransition::Reopen).ok_or(from)?;
        self.completed_at = None;
        self.completed_status = None;
        self.completed_status_message = None;
        self.updated_at = now;
        Ok(())
    }
}

/// How a task was completed (`completed_status`): `succeeded`, `failed` or `cleaned_up` in
/// bodies and in the storage form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletedStatus {
    /// `succeeded`.
    Succeeded,
    /// `failed`.
    Failed,
    /// `cleaned_up`.
    CleanedUp,
}

impl CompletedStatus {
    /// Every value, in the order error messages list them.
    pub const ALL: [CompletedStatus; 3] = [Self::Succeeded, Self::Failed, Self::CleanedUp];

    /// Its name in bodies and in the storage form.
    pub fn name(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::CleanedUp => "cleaned_up",
        }
    }

    /// The value named `name`, if there is one.
    pub fn parse(name: &str) -> Option<CompletedStatus> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// `CustomerApi_V1_CommentEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// The text.
    pub content: String,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
}

/// `CustomerApi_V1_TaskEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Who it is assigned to.
    pub assigned_to_user: Option<User>,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The credit case it is about.
    #[serde(with = "crate::format::opt_id")]
    pub credit_case_id: Option<u64>,
    /// The debtor it is about.
    #[serde(with = "crate::format::opt_id")]
    pub debtor_id: Option<u64>,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// The invoice it is about.
    #[serde(with = "crate::format::opt_id")]
    pub invoice_id: Option<u64>,
    /// What to do.
    pub description: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Due date of the task.
    pub expiry_date: NaiveDate,
    /// Opt-in: comments, oldest first.
    pub comments: Vec<Comment>,
    /// Completion.
    #[serde(with = "crate::format::opt_ts")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// How it was completed (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub completed_status: Option<CompletedStatus>,
    /// Why (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub completed_status_message: Option<String>,
}

administration_record!(Task, changed = updated_at);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/tasks",
            list::list_route("tasks:read", OPT_IN, |db| &db.tasks, list::unfiltered),
        )
        .route(
            "/tasks/{id}",
            list::show_route("tasks:read", "Task", OPT_IN, |db| &db.tasks),
        )
        .route("/tasks/{id}/comment", post(comment))
        .route("/tasks/{id}/mark_completed", patch(mark_completed))
        .route("/tasks/{id}/unmark_completed", patch(unmark_completed))
}

/// An optional string body key; blank is absent ([`crate::body::opt_str`] at the top of the body).
fn text(body: &Body, key: &str) -> Result<Option<String>, Problem> {
    opt_str(&body.0, key, "")
}

/// The grant every task write needs.
const WRITE: &str = "tasks:write";

/// The checks of a task write that answers with the task ([`Body::authorize`]), then its
/// `fields`: the administration and the projection.
fn authorize_shown(
    state: &AppState,
    caller: &Caller,
    body: &Body,
    raw: Option<&str>,
) -> Result<(u64, Fields), PaytError> {
    let admin = body.authorize(state, caller, WRITE)?;
    Ok((admin, body_fields(body, raw)?))
}

impl Comment {
    /// A new comment with `content`, written at `now`.
    fn new(state: &AppState, content: String, now: DateTime<Utc>) -> Self {
        Self {
            id: state.ids.next_seq(),
            content,
            created_at: now,
        }
    }
}

/// Raises `todo_list_item_updated` for task `key` of `admin`.
fn emit_updated(db: &mut Db, state: &AppState, now: DateTime<Utc>, admin: u64, key: &str) {
    crate::webhooks::emit(db, &state.ids, now, admin, "todo_list_item_updated", "task", key);
}

fn key_of(id: &str) -> Result<String, PaytError> {
    parse_id(id)
        .map(|n| n.to_string())
        .ok_or_else(|| PaytError::not_found("Task", id))
}

async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    let admin = body.authorize(&state, &caller, WRITE)?;
    let content = text(&body, "comment")?.ok_or_else(|| {
        PaytError::unprocessable("missing_parameter", "comment is missing: give the text of the comment")
    })?;
    let key = key_of(&id)?;
    let now = state.now();
    state.store.write(|db| {
        db.tasks
            .update(&admin, &key, |t| {
                t.comments.push(Comment::new(&state, content, now));
                t.updated_at = now;
            })
            .ok_or_else(|| PaytError::not_found("Task", &id))?;
        emit_updated(db, &state, now, admin, &key);
        Ok::<(), PaytError>(())
    })?;
    let mut bulk = Bulk::new();
    bulk.processed();
    Ok((StatusCode::CREATED, Json(bulk.to_json())))
}

async fn mark_completed(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Json<Value>, PaytError> {
    let (admin, fields) = authorize_shown(&state, &caller, &body, raw.as_deref())?;
    let status = match text(&body, "completed_status")? {
        None => None,
        Some(s) => Some(CompletedStatus::parse(&s).ok_or_else(|| {
            let names: Vec<&str> = CompletedStatus::ALL.iter().map(|s| s.name()).collect();
            Problem::invalid(
                "completed_status",
                format_args!("{s:?} is not one of {}", names.join(", ")),
            )
        })?),
    };
    let status_message = text(&body, "completed_status_message")?;
    let comment = text(&body, "comment")?;
    let resume = opt_bool(&body.0, "resume_dossiers", "")?.unwrap_or(false);
    let key = key_of(&id)?;
    let now = state.now();
    let task = state.store.write(|db| {
        let task = db
            .tasks
            .get(&admin, &key)
            .cloned()
            .ok_or_else(|| PaytError::not_found("Task", &id))?;
        if TaskState::of(&task).can(TaskTransition::Complete).is_none() {
            let at = task
                .completed_at
                .map(|at| crate::format::timestamp(&at))
                .unwrap_or_default();
            return Err(PaytError::unprocessable(
                "invalid_state",
                format!("Task {key} was already completed at {at}; unmark it first to complete it again"),
            ));
        }
        if resume && let Some(invoice) = task.invoice_id {
            db.invoices.update(&admin, &invoice.to_string(), |i| {
                if i.paused_at.is_some() {
                    i.paused_at = None;
                    i.paused_by_user = false;
                    i.updated_at = now;
                }
            });
        }
        if resume && let Some(case) = task.credit_case_id {
            db.credit_cases.update(&admin, &case.to_string(), |c| {
                if c.paused_at.is_some() {
                    c.paused_at = None;
                    c.updated_at = now;
                }
            });
        }
        let task = db
            .tasks
            .update(&admin, &key, |t| {
                t.complete(now, status, status_message).ok()?;
                if let Some(c) = comment {
                    t.comments.push(Comment::new(&state, c, now));
                }
                Some(t.clone())
            })
            .flatten()
            .ok_or_else(|| PaytError::not_found("Task", &id))?;
        emit_updated(db, &state, now, admin, &key);
        Ok(task)
    })?;
    Ok(Json(list::entity(&task, &fields, OPT_IN)?))
}

async fn unmark_completed(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Json<Value>, PaytError> {
    let (admin, fields) = authorize_shown(&state, &caller, &body, raw.as_deref())?;
    let key = key_of(&id)?;
    let now = state.now();
    let task = state.store.write(|db| {
        let task = db
            .tasks
            .update(&admin, &key, |t| {
                let reopened = t.reopen(now).is_ok();
                (t.clone(), reopened)
            })
            .ok_or_else(|| PaytError::not_found("Task", &id))?;
        if task.1 {
            emit_updated(db, &state, now, admin, &key);
        }
        Ok::<_, PaytError>(task.0)
    })?;
    Ok(Json(list::entity(&task, &fields, OPT_IN)?))
}

/// Task templates: subject, description, what it is about (`d` debtor, `i` invoice, `c` case).
const TEMPLATES: &[(&str, &str, char)] = &[
    (
        "Debiteur bellen",
        "Bel de debiteur over de openstaande factuur en leg de afspraak vast.",
        'i',
    ),
    (
        "Betwisting beoordelen",
        "De debiteur betwist de factuur. Beoordeel het bezwaar en hervat of crediteer.",
        'i',
    ),
    (
        "Betalingsregeling beoordelen",
        "Er is een voorstel voor een betalingsregeling binnengekomen.",
        'd',
    ),
    (
        "E-mailadres controleren",
        "De laatste herinnering kwam onbestelbaar retour. Zoek een geldig e-mailadres.",
        'd',
    ),
    (
        "Dossier overdragen aan deurwaarder",
        "De sommatie is verlopen zonder reactie. Beslis of het dossier naar de deurwaarder gaat.",
        'c',
    ),
    (
        "Incassodossier gepauzeerd",
        "Het incassodossier is gepauzeerd op verzoek van de debiteur. Controleer of het hervat kan worden.",
        'c',
    ),
    (
        "Adreswijziging verwerken",
        "De debiteur heeft een nieuw postadres doorgegeven.",
        'd',
    ),
];

const COMMENTS: &[&str] = &[
    "Gebeld, geen gehoor. Morgen opnieuw proberen.",
    "Debiteur heeft toegezegd deze week te betalen.",
    "Navraag gedaan bij verkoop, levering was compleet.",
    "Wacht op reactie van de contactpersoon.",
    "Nieuw e-mailadres gevonden op de website.",
    "Overlegd met de accountmanager: dossier mag door.",
];

/// Adds 30 to 50 tasks for administration `admin`: open ones (some overdue) and completed ones,
/// assigned to Payt users or to nobody, about debtors, invoices and credit cases, most with 0 to 3
/// comments.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let targets = Targets::of(db, admin);
    if targets.debtors.is_empty() {
        return;
    }
    let anchor = g.f.anchor_at(0);
    let users = g.users.clone();
    for _ in 0..(30 + g.f.int(0, 20)) {
        let (subject, description, about) = *g.f.pick(TEMPLATES);
        let (debtor_id, invoice_id, credit_case_id) = match about {
            'i' => targets.invoice(g),
            'c' => targets.case(g),
            _ => targets.debtor(g),
        };
        let day = g.f.date_around(-100, -1);
        let created = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()
            + Duration::seconds(g.f.int(7 * 3600, 18 * 3600) as i64);
        let expiry_date = fixtures::shift(day, *g.f.pick(&[3, 7, 7, 14, 30]));
        let assigned_to_user = if users.is_empty() || g.f.chance(0.25) {
            None
        } else {
            Some(g.f.pick(&users).clone())
        };
        let mut comments = Vec::new();
        let mut last = created;
        for _ in 0..g.f.int(0, 3) {
            last = (last + Duration::hours(g.f.int(1, 96) as i64)).min(anchor);
            comments.push(Comment {
                id: g.id(),
                content: g.f.pick(COMMENTS).to_string(),
                created_at: last,
            });
        }
        let completed = g.f.chance(0.45);
        let completed_at = completed.then(|| (last + Duration::hours(g.f.int(1, 72) as i64)).min(anchor));
        let completed_status = completed.then(|| {
            *g.f.pick(&[
                CompletedStatus::Succeeded,
                CompletedStatus::Succeeded,
                CompletedStatus::Failed,
                CompletedStatus::CleanedUp,
            ])
        });
        let id = g.id();
        crate::seed::put(
            &mut db.tasks,
            Task {
                assigned_to_user,
                administration_id: admin,
                credit_case_id,
                debtor_id: Some(debtor_id),
                id,
                invoice_id,
                description: Some(description.to_string()),
                subject: Some(subject.to_string()),
                expiry_date,
                comments,
                completed_at,
                updated_at: completed_at.unwrap_or(last),
                created_at: created,
                completed_status,
                completed_status_message: None,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use proptest::prelude::*;

    use super::{CompletedStatus, Task, TaskState, TaskTransition};

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap_or_default()
    }

    fn step() -> impl Strategy<Value = (TaskTransition, Option<CompletedStatus>)> {
        (
            prop_oneof![Just(TaskTransition::Complete), Just(TaskTransition::Reopen)],
            proptest::option::of(proptest::sample::select(CompletedStatus::ALL.to_vec())),
        )
    }

    proptest! {
        /// Under any sequence of completions and reopenings a task is open or completed as the
        /// table says, a completed task always says how (or that nobody said), an open one never
        /// does, and a refused transition leaves every field as it was.
        #[test]
        fn tasks_move_only_as_the_table_allows(steps in proptest::collection::vec(step(), 0..32)) {
            let mut task = Task::default();
            for (i, (t, status)) in steps.into_iter().enumerate() {
                let before = task.clone();
                let from = TaskState::of(&task);
                let now = at(i as i64 + 1);
                let moved = match t {
                    TaskTransition::Complete => task.complete(now, status, Some("why".into())),
                    TaskTransition::Reopen => task.reopen(now),
                };
                match moved {
                    Ok(()) => prop_assert_eq!(Some(TaskState::of(&task)), from.can(t)),
                    Err(stays) => {
                        prop_assert_eq!(stays, from);
                        prop_assert_eq!(from.can(t), None);
                        prop_assert_eq!(&task, &before);
                    }
                }
                if TaskState::of(&task) == TaskState::Open {
                    prop_assert!(task.completed_status.is_none() && task.completed_status_message.is_none());
                }
            }
        }
    }

    #[test]
    fn completed_status_names_round_trip() {
        for s in CompletedStatus::ALL {
            let json = serde_json::to_value(s).expect("a status serializes");
            assert_eq!(json, serde_json::Value::String(s.name().to_string()));
            assert_eq!(serde_json::from_value::<CompletedStatus>(json).ok(), Some(s));
            assert_eq!(CompletedStatus::parse(s.name()), Some(s));
        }
        assert_eq!(CompletedStatus::parse("done"), None);
    }
}
