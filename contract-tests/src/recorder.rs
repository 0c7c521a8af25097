//! The client middleware that checks every answer against the vendor's contract and journals it.
//!
//! A drift fails the test at the request that showed it (`CONTRACT_DRIFT=fail`, the default); with
//! `CONTRACT_DRIFT=report` it is only journaled, so one run against a vendor collects all of it.

use http::Extensions;
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_middleware::{Middleware, Next};

use crate::contract::{Answer, Contract, Vendor};
use crate::journal::{self, Entry, Exchange};

/// Checks and journals every exchange of one vendor's client.
pub struct Recorder {
    vendor: Vendor,
}

impl Recorder {
    /// A recorder checking against `vendor`'s contract.
    pub fn new(vendor: Vendor) -> Self {
        Self { vendor }
    }
}

/// Payt's `fields`/`except` projection, which leaves out fields the contract requires.
fn is_projection(name: &str) -> bool {
    name == "fields" || name == "except"
}

/// Whether a form or JSON request body asks for a projection.
fn body_projects(body: &[u8]) -> bool {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        return map.keys().any(|k| is_projection(k));
    }
    url::form_urlencoded::parse(body).any(|(k, _)| is_projection(&k))
}

/// Whether drift fails the test (default) or is only reported.
fn drift_fails() -> bool {
    !matches!(std::env::var("CONTRACT_DRIFT").as_deref(), Ok("report"))
}

#[async_trait::async_trait]
impl Middleware for Recorder {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let method = req.method().as_str().to_string();
        let url = req.url().clone();
        let raw_body = req.body().and_then(|b| b.as_bytes());
        let projected = url.query_pairs().any(|(k, _)| is_projection(&k)) || raw_body.is_some_and(body_projects);
        let request_body = raw_body.map(|b| journal::cut(&String::from_utf8_lossy(b), 2048));
        let res = next.run(req, extensions).await?;

        let status = res.status();
        let version = res.version();
        let headers = res.headers().clone();
        let res_url = res.url().clone();
        let bytes = res.bytes().await?;
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let checked = Contract::of(self.vendor).check(&Answer {
            method: &method,
            path: url.path(),
            projected,
            status: status.as_u16(),
            content_type,
            body: &bytes,
        });
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let drift = checked.drift.clone();
        journal::write(&Entry::Exchange(Exchange {
            seq: journal::next_seq(),
            test: journal::current_test(),
            vendor: self.vendor,
            method: method.clone(),
            target: target.clone(),
            operation: checked.operation.clone(),
            status: status.as_u16(),
            request_body,
            response_body: journal::cut(&String::from_utf8_lossy(&bytes), 4096),
            drift: checked.drift,
        }));
        if !drift.is_empty() && drift_fails() {
            let lines: Vec<String> = drift.iter().map(|d| format!("  {d}")).collect();
            panic!(
                "contract drift: {method} {target} answered {status}, which the {} contract does not allow:\n{}\n  body: {}",
                self.vendor.name(),
                lines.join("\n"),
                journal::cut(&String::from_utf8_lossy(&bytes), 1024)
            );
        }

        let mut builder = http::Response::builder().status(status).version(version).url(res_url);
        if let Some(h) = builder.headers_mut() {
            *h = headers;
        }
        let rebuilt = builder
            .body(bytes)
            .map_err(|e| reqwest_middleware::Error::Middleware(e.into()))?;
        Ok(Response::from(rebuilt))
    }
}
