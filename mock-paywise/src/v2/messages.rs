//! Messages of orders (`/v2/orders/{id}/messages/`) and mandates
//! (`/v2/mandates/{id}/messages/`): list, create, retrieve, PATCH (their documents are in
//! [`crate::v2::documents`]).
//!
//! A message the client writes through the API is `under_review` and `editable` until paywise
//! starts reviewing it (the back office); then it is no longer editable (PATCH: 409
//! `message_not_editable`) and becomes `handled`. paywise's own messages are `published`. The
//! body's HTML is sanitized to a small set of tags (`p`, `br`, `b`, `strong`, `i`, `em`, `ul`,
//! `ol`, `li`, `a`) and must not be empty afterwards. A client message raises
//! `order.message.created` / `mandate.message.created`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::state::{AppState, Db, Scope};
use crate::v2::conv::{Idem, Obj, Patch, V2Caller, V2Json, if_match, list_answer, page, respond, show, ts};
use crate::v2::documents;
use crate::v2::error::{Errs, V2Error};

/// A message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Creation order.
    pub seq: u64,
    /// The company.
    pub scope: Scope,
    /// Id.
    pub id: Uuid,
    /// `order` or `mandate`.
    pub parent_type: String,
    /// The order or mandate.
    pub parent_id: Uuid,
    /// Title.
    pub title: String,
    /// Sanitized HTML.
    pub body: String,
    /// `api`, `user`, `paywise`.
    pub author: String,
    /// Where the message is.
    pub state: MessageState,
    /// paywise started reviewing it.
    pub review_started: bool,
    /// The message it answers.
    pub response_to: Option<Uuid>,
    /// The history entry it belongs to (mandate messages paywise links to a status update).
    pub history_entry: Option<Uuid>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

// A parent's messages are read by parent.
scoped_record!(Message, lookups = |r| vec![("parent", r.parent_id.to_string())]);

state_enum! {
    /// A message's `state`: the client's and users' messages are reviewed by paywise, paywise's
    /// own are published; see [`MessageState::next`].
    pub enum MessageState moved by Review {
        /// Waiting for (or in) paywise's review.
        UnderReview = "under_review",
        /// paywise handled it.
        Handled = "handled",
        /// paywise's own message (it never moves).
        Published = "published",
    }
}

/// What moves a [`MessageState`]: paywise's review sets `under_review` or `handled` (never on a
/// published message, never to `published`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Review(pub MessageState);

impl MessageState {
    /// Where `event` takes a message in this state, or `None` where it is refused.
    pub fn next(self, Review(to): Review) -> Option<Self> {
        (self != MessageState::Published && to != MessageState::Published).then_some(to)
    }
}

impl Message {
    /// Whether the client may still change it.
    pub fn is_editable(&self) -> bool {
        self.author == "api" && self.state == MessageState::UnderReview && !self.review_started
    }

    fn base(&self) -> String {
        let parent = if self.parent_type == "order" {
            "orders"
        } else {
            "mandates"
        };
        format!("/v2/{parent}/{}/messages/{}/", self.parent_id, self.id)
    }

    /// `MessageRead`.
    pub fn render(&self, db: &Db, origin: &Origin) -> Value {
        json!({
            "id": self.id.to_string(),
            "href": origin.url(&self.base()),
            "title": self.title,
            "body": self.body,
            "author": { "type": self.author },
            "sender": if self.author == "paywise" { "paywise" } else { "client" },
            "state": self.state,
            "editable": self.is_editable(),
            "parent": { "id": self.parent_id.to_string(), "type": self.parent_type },
            "response_to": self.response_to.map(|u| u.to_string()),
            "documents": documents::rendered(db, self.scope, self.id, origin),
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
        })
    }
}

/// The message `id` of parent `parent`.
pub fn find(db: &Db, scope: Scope, parent: Uuid, id: Uuid) -> Result<Message, V2Error> {
    db.v2_messages
        .get(&scope, &id.to_string())
        .filter(|m| m.parent_id == parent)
        .cloned()
        .ok_or_else(V2Error::not_found)
}

/// Keeps the tags v2 allows (without attributes, except `href` on links) and drops the rest.
pub fn sanitize(html: &str) -> String {
    const ALLOWED: &[&str] = &["p", "br", "b", "strong", "i", "em", "ul", "ol", "li", "a"];
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[start + 1..start + end];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if ALLOWED.contains(&name.as_str()) {
            if closing {
                out.push_str(&format!("</{name}>"));
            } else if name == "a" {
                let href = tag
                    .split("href=\"")
                    .nth(1)
                    .and_then(|h| h.split('"').next())
                    .filter(|h| safe_href(h));
                match href {
                    Some(h) => out.push_str(&format!("<a href=\"{h}\">")),
                    None => out.push_str("<a>"),
                }
            } else {
                out.push_str(&format!("<{name}>"));
            }
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a link keeps its `href`: an `https://`, `http://` (with a host) or `mailto:` URL the
/// `url` crate parses.
fn safe_href(h: &str) -> bool {
    let web = h.starts_with("https://") || h.starts_with("http://");
    (web || h.starts_with("mailto:")) && url::Url::parse(h).is_ok_and(|u| !web || u.host().is_some())
}

/// The text of an HTML fragment: every tag (`<...>`) dropped, nothing else changed (also how
/// v2 shows a status update's description as plain text).
pub(crate) fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/orders/{p1}/messages/",
            get(list::<UnderOrder>).post(create::<UnderOrder>),
        )
        .route(
            "/orders/{p1}/messages/{p2}/",
            get(get_message::<UnderOrder>).patch(patch::<UnderOrder>),
        )
        .route(
            "/mandates/{p1}/messages/",
            get(list::<UnderMandate>).post(create::<UnderMandate>),
        )
        .route(
            "/mandates/{p1}/messages/{p2}/",
            get(get_message::<UnderMandate>).patch(patch::<UnderMandate>),
        )
}

/// The parent a message route is under: one handler per operation serves both.
trait Parent: Send + Sync + 'static {
    /// `order` or `mandate`.
    const KIND: &'static str;
}

/// Messages of an order (`/v2/orders/{id}/messages/`).
struct UnderOrder;

impl Parent for UnderOrder {
    const KIND: &'static str = "order";
}

/// Messages of a mandate (`/v2/mandates/{id}/messages/`).
struct UnderMandate;

impl Parent for UnderMandate {
    const KIND: &'static str = "mandate";
}

/// Resolves the parent (`order` or `mandate`) `raw` of the caller.
fn parent(db: &Db, scope: Scope, kind: &str, raw: &str) -> Result<Uuid, V2Error> {
    let id = Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?;
    if kind == "order" {
        crate::v2::orders::find(db, scope, id).map(|o| o.id)
    } else {
        crate::v2::mandates::find(db, scope, id).map(|m| m.id)
    }
}

async fn list<P: Parent>(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(raw): Path<String>,
) -> Result<Response, V2Error> {
    let kind = P::KIND;
    list_answer(
        &state,
        &origin,
        |_| (),
        |db, (), paging, now| {
            let p = parent(db, caller.scope, kind, &raw)?;
            let mut rows: Vec<&Message> = db.v2_messages.lookup(&caller.scope, "parent", &p.to_string()).collect();
            rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.seq.cmp(&a.seq)));
            Ok(page(
                &origin,
                paging,
                now,
                rows,
                |m| (m.updated_at, m.id),
                |m| m.render(db, &origin),
            ))
        },
    )
}

async fn create<P: Parent>(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path(raw): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let kind = P::KIND;
    idem.run(&state, &caller, &body, || {
        let mut errs = Errs::default();
        let o = Obj::new(&body, "", &["title", "body", "documents"], &mut errs);
        let title = o.req_string("title", 255, &mut errs);
        let text = o.req_string("body", 20_000, &mut errs).map(|b| sanitize(&b));
        if text.as_deref().is_some_and(|b| text_of(b).trim().is_empty()) {
            errs.push("body", "blank", "The body is empty once its HTML is sanitized.");
        }
        let mut budget = (0, 0);
        let docs = documents::read_inline(&o, "documents", documents::ALL_TYPES, &mut budget, &mut errs);
        errs.finish(())?;
        let (Some(title), Some(text)) = (title, text) else {
            return Err(V2Error::field("title", "required", "This field is required."));
        };
        let now = state.now();
        state.store.write(|db| {
            let p = parent(db, caller.scope, kind, &raw)?;
            if kind == "order" {
                let order = crate::v2::orders::find(db, caller.scope, p)?;
                let s = crate::v2::orders::status(db, &order, now);
                if s.is_closed() {
                    return Err(V2Error::conflict("order_closed", format!("The order is {s}; it takes no more messages.")));
                }
            }
            let m = Message {
                seq: state.ids.next_seq(),
                scope: caller.scope,
                id: state.ids.uuid(),
                parent_type: kind.to_string(),
                parent_id: p,
                title,
                body: text,
                author: "api".into(),
                state: MessageState::UnderReview,
                review_started: false,
                response_to: None,
                history_entry: None,
                created_at: now,
                updated_at: now,
            };
            let base = format!("{}documents/", m.base());
            for f in docs {
                documents::store(db, &state, caller.scope, f, "message", m.id, None, &base);
            }
            db.v2_messages
                .insert(m.clone())
                .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
            let (event, data) = if kind == "order" {
                (
                    "order.message.created",
                    json!({ "order_id": p.to_string(), "order_url": format!("/v2/orders/{p}/"), "message_id": m.id.to_string() }),
                )
            } else {
                (
                    "mandate.message.created",
                    json!({ "mandate_id": p.to_string(), "mandate_url": format!("/v2/mandates/{p}/"), "message_id": m.id.to_string() }),
                )
            };
            crate::v2::events::emit(db, &state, caller.scope, event, data);
            Ok((StatusCode::CREATED, m.render(db, &origin)))
        })
    })
}

async fn get_message<P: Parent>(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path((raw, id)): Path<(String, String)>,
) -> Result<Response, V2Error> {
    let kind = P::KIND;
    let v = state.store.read(|db| {
        let p = parent(db, caller.scope, kind, &raw)?;
        let id = Uuid::parse_str(&id).map_err(|_| V2Error::not_found())?;
        find(db, caller.scope, p, id).map(|m| m.render(db, &origin))
    })?;
    Ok(show(&headers, v))
}

#[allow(clippy::too_many_arguments)]
async fn patch<P: Parent>(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path((raw, id)): Path<(String, String)>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let kind = P::KIND;
    let now = state.now();
    state.store.write(|db| {
        let p = parent(db, caller.scope, kind, &raw)?;
        let id = Uuid::parse_str(&id).map_err(|_| V2Error::not_found())?;
        let m = find(db, caller.scope, p, id)?;
        if_match(&headers, &m.render(db, &origin))?;
        let mut errs = Errs::default();
        let o = Obj::new(&body, "", &["title", "body"], &mut errs);
        if body.is_empty() {
            errs.push("", "required", "Send title, body or both.");
        }
        let title = o.string("title", 255, &mut errs);
        let text = o.string("body", 20_000, &mut errs);
        let mut next = m.clone();
        match title {
            Patch::Set(t) if t.trim().is_empty() => errs.push("title", "blank", "This field may not be blank."),
            Patch::Set(t) => next.title = t,
            Patch::Clear => errs.push("title", "null", "This field may not be null."),
            Patch::Keep => {}
        }
        match text {
            Patch::Set(b) => {
                let clean = sanitize(&b);
                if text_of(&clean).trim().is_empty() {
                    errs.push("body", "blank", "The body is empty once its HTML is sanitized.");
                }
                next.body = clean;
            }
            Patch::Clear => errs.push("body", "null", "This field may not be null."),
            Patch::Keep => {}
        }
        errs.finish(())?;
        if !m.is_editable() {
            return Err(V2Error::conflict(
                "message_not_editable",
                "Only your own API message can change, and only until paywise starts reviewing it.",
            ));
        }
        if next != m {
            next.updated_at = now;
        }
        let out = next.render(db, &origin);
        db.v2_messages
            .update(&caller.scope, &m.id.to_string(), |slot| *slot = next);
        Ok(respond(StatusCode::OK, out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizing_keeps_simple_markup_only() {
        assert_eq!(
            sanitize(
                "<p onclick=\"x\">Hi <script>alert(1)</script><b>you</b></p><a href=\"https://x.de\" target=_blank>l</a>"
            ),
            "<p>Hi alert(1)<b>you</b></p><a href=\"https://x.de\">l</a>"
        );
        assert_eq!(text_of(&sanitize("<img src=x>")), "");
    }
}

#[cfg(test)]
mod state_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    proptest! {
        #[test]
        fn published_stays_and_nothing_becomes_published(
            start in proptest::sample::select(MessageState::ALL),
            events in proptest::collection::vec(proptest::sample::select(MessageState::ALL).prop_map(Review), 0..20),
        ) {
            let seen = walk(MessageState::ALL, start, &events);
            let published = start == MessageState::Published;
            prop_assert!(seen.iter().all(|s| (*s == MessageState::Published) == published), "{seen:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        round_trips(MessageState::ALL, MessageState::as_str);
    }
}
