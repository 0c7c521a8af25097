//! Named scenarios: documented starting states built the way a user would build them, by calling
//! the vendor's own API at moments in the past and letting the time-driven rules run to now.
//!
//! A [`Scenario`] is a script of [`Step`]s. Loading one into a world ([`crate::world::Worlds::load_scenario`])
//! reseeds the world without fixtures (size 0: only the tenants the tokens need), moves its clock
//! back by the scenario's [`Scenario::span`], runs the steps in order (API calls through the
//! world's own router, clock advances that run the rules), and finally runs the rules up to the
//! time the load started. So every record is made by the API and moved by the same rules a
//! client meets later; nothing is written by hand.
//!
//! Calls can keep values of their answers (`save`: a name and a JSON pointer) and use them later
//! as `{name}` in a path or in any string of a body.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, header};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;

use crate::clock::Clock;

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// A call of the vendor's API with the vendor's default token; it must answer 2xx.
    Call {
        /// The method.
        method: Method,
        /// The path and query (`{name}` placeholders allowed).
        path: &'static str,
        /// The JSON body, if any (`{name}` placeholders allowed in strings).
        body: Option<Value>,
        /// Extra headers (`Idempotency-Key`, ...).
        headers: Vec<(&'static str, &'static str)>,
        /// Values of the answer to keep: a name and a JSON pointer (`/id`, `/results/0/id`).
        save: Vec<(&'static str, &'static str)>,
    },
    /// Moves the clock forward, running the rules on the way.
    Advance(Duration),
}

impl Step {
    /// A `GET`.
    pub fn get(path: &'static str) -> Self {
        Self::call(Method::GET, path, None)
    }

    /// A `POST` of `body`.
    pub fn post(path: &'static str, body: Value) -> Self {
        Self::call(Method::POST, path, Some(body))
    }

    /// A `PATCH` of `body`.
    pub fn patch(path: &'static str, body: Value) -> Self {
        Self::call(Method::PATCH, path, Some(body))
    }

    /// A `PUT` of `body`.
    pub fn put(path: &'static str, body: Value) -> Self {
        Self::call(Method::PUT, path, Some(body))
    }

    fn call(method: Method, path: &'static str, body: Option<Value>) -> Self {
        Self::Call {
            method,
            path,
            body,
            headers: Vec::new(),
            save: Vec::new(),
        }
    }

    /// The same call, keeping the value at `pointer` of its answer as `{name}`.
    pub fn save(mut self, name: &'static str, pointer: &'static str) -> Self {
        if let Self::Call { save, .. } = &mut self {
            save.push((name, pointer));
        }
        self
    }

    /// The same call with header `name: value`.
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        if let Self::Call { headers, .. } = &mut self {
            headers.push((name, value));
        }
        self
    }

    /// Advances the clock by `days` days.
    pub fn days(days: i64) -> Self {
        Self::Advance(Duration::days(days))
    }
}

/// A named starting state.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name (`--scenario NAME`, `POST /_mock/scenarios/{name}`).
    pub name: &'static str,
    /// What it holds, for `--scenario list` and `GET /_mock/scenarios`.
    pub about: &'static str,
    /// How far back its clock starts before the time it is loaded at.
    pub span: Duration,
    /// Its steps.
    pub steps: Vec<Step>,
}

/// Why a scenario could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// No scenario has that name; the message lists those that exist.
    #[error("{0}")]
    Unknown(String),
    /// A step failed (a defect of the mock); the message says which.
    #[error("{0}")]
    Failed(String),
}

/// `text` with every `{name}` of `vars` replaced, `{now}` by the clock's time (RFC 3339, whole
/// seconds) and `{today}`, `{today+N}`, `{today-N}` by the clock's date N days on or back.
fn fill(text: &str, vars: &BTreeMap<&'static str, String>, now: DateTime<Utc>) -> String {
    let mut out = text.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out = out.replace("{now}", &now.to_rfc3339_opts(SecondsFormat::Secs, true));
    while let Some(start) = out.find("{today") {
        let Some(len) = out[start..].find('}') else { break };
        let inner = &out[start + 6..start + len];
        let days = if inner.is_empty() {
            Some(0)
        } else {
            inner.parse::<i64>().ok()
        };
        let Some(days) = days else { break };
        let date = (now + Duration::days(days)).date_naive().to_string();
        out.replace_range(start..=start + len, &date);
    }
    out
}

fn fill_json(value: &Value, vars: &BTreeMap<&'static str, String>, now: DateTime<Utc>) -> Value {
    match value {
        Value::String(s) => Value::String(fill(s, vars, now)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, vars, now)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), fill_json(v, vars, now))).collect()),
        other => other.clone(),
    }
}

/// Runs the calls of a scenario against `app` with `token`; advances go to `advance`.
pub(crate) async fn run(
    scenario: &Scenario,
    app: &axum::Router,
    token: &str,
    clock: &Clock,
    mut advance: impl FnMut(Duration),
) -> Result<(), String> {
    use tower::ServiceExt;
    let mut vars: BTreeMap<&'static str, String> = BTreeMap::new();
    for (n, step) in scenario.steps.iter().enumerate() {
        match step {
            Step::Advance(by) => advance(*by),
            Step::Call {
                method,
                path,
                body,
                headers,
                save,
            } => {
                let now = clock.now();
                let path = fill(path, &vars, now);
                let mut req = Request::builder()
                    .method(method.clone())
                    .uri(&path)
                    .header(header::HOST, "localhost")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"));
                for (name, value) in headers {
                    req = req.header(*name, fill(value, &vars, now));
                }
                let req = match body {
                    Some(b) => req
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(fill_json(b, &vars, now).to_string())),
                    None => req.body(Body::empty()),
                }
                .map_err(|e| format!("step {n} ({method} {path}): {e}"))?;
                let res = match app.clone().oneshot(req).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                };
                let status = res.status();
                let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
                    .await
                    .map_err(|e| format!("step {n} ({method} {path}): {e}"))?;
                if !status.is_success() {
                    return Err(format!(
                        "step {n} ({method} {path}) answered {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    ));
                }
                if !save.is_empty() {
                    let answer: Value = serde_json::from_slice(&bytes)
                        .map_err(|e| format!("step {n} ({method} {path}): the answer is not JSON: {e}"))?;
                    for (name, pointer) in save {
                        let value = match answer.pointer(pointer) {
                            Some(Value::String(s)) => s.clone(),
                            Some(Value::Number(x)) => x.to_string(),
                            other => {
                                return Err(format!(
                                    "step {n} ({method} {path}): nothing to keep at {pointer} ({other:?})"
                                ));
                            }
                        };
                        vars.insert(name, value);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_from_saved_values_and_the_clock() {
        let now = DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let vars = BTreeMap::from([("claim", "c-1".to_string())]);
        assert_eq!(
            fill(
                "/v1/claims/{claim}/?d={today+30}&e={today-1}&f={today}&t={now}",
                &vars,
                now
            ),
            "/v1/claims/c-1/?d=2026-12-01&e=2026-10-31&f=2026-11-01&t=2026-11-01T09:00:00Z"
        );
        assert_eq!(fill("{today+x}", &vars, now), "{today+x}", "not a number: left alone");
    }
}
