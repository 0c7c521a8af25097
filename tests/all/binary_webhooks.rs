//! The binary delivers paywise webhooks (v1 and v2) from its default world.
//!
//! The two mocks' data is generated side by side, paywise's on a thread of its own; the webhook
//! dispatchers of a world start only inside a tokio runtime, so that thread must enter it. This
//! test runs the real binary (ports the OS picks, a frozen clock at the test epoch), points one v1
//! and one v2 endpoint at a local receiver and sees a test delivery of each arrive; a second run
//! does the same with a receiver behind TLS, whose self-signed certificate the binary trusts
//! through `--webhook-ca-file`.

use crate::common::binary;

use std::process::Child;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer;

const TOKEN: &str = "paywise_test_token";

/// The running binary; killed when dropped.
struct Binary(Child);

impl Drop for Binary {
    fn drop(&mut self) {
        if self.0.kill().is_ok() {
            // Reaping can only fail if the child is already gone.
            self.0.wait().ok();
        }
    }
}

/// Starts the binary (with `extra` flags) and returns it with the paywise base URL from its banner.
fn start(extra: &[&std::ffi::OsStr]) -> (Binary, String) {
    let mut child = binary::command()
        .args(extra)
        .args(["--size", "0"])
        .spawn()
        .expect("the binary starts");
    let banner = binary::banner(&mut child);
    let binary = Binary(child);
    (binary, banner.url("paywise mock  "))
}

/// A receiver that answers 200 to every request and reports each request's head: plain HTTP, or
/// HTTPS with `tls` (its URL then names `localhost`, as the certificate does).
async fn receiver(tls: Option<TlsAcceptor>) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let url = match tls {
        Some(_) => format!("https://localhost:{port}/hook"),
        None => format!("http://127.0.0.1:{port}/hook"),
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let tx = tx.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(tls) => {
                        if let Ok(s) = tls.accept(s).await {
                            answer(s, tx).await;
                        }
                    }
                    None => answer(s, tx).await,
                }
            });
        }
    });
    (url, rx)
}

/// Reads one request's head, answers 200 and reports the head.
async fn answer(
    mut s: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
) {
    let mut buf = vec![0u8; 65536];
    let n = s.read(&mut buf).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .ok();
    s.shutdown().await.ok();
    tx.send(head).ok();
}

/// A certificate for `localhost` (self-signed), written as PEM to `pem_path`, and an acceptor
/// presenting it.
fn tls_identity(pem_path: &std::path::Path) -> TlsAcceptor {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    std::fs::write(pem_path, cert.pem()).expect("the PEM file is written");
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivatePkcs8KeyDer::from(signing_key.serialize_der()).into(),
        )
        .expect("a server config");
    TlsAcceptor::from(std::sync::Arc::new(config))
}

async fn post(client: &reqwest::Client, url: String, key: &str, body: Value) -> (u16, Value) {
    let res = client
        .post(url)
        .bearer_auth(TOKEN)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .expect("the mock answers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Waits (at most 30 s) for the receiver's next request.
async fn next_request(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("a delivery arrives")
        .expect("the receiver runs")
}

#[tokio::test]
async fn the_binary_delivers_v1_and_v2_webhooks() {
    let (_binary, base) = start(&[]);
    let (url, requests) = receiver(None).await;
    v1_and_v2_arrive(&base, &url, requests).await;
}

#[tokio::test]
async fn the_binary_delivers_over_https_to_a_receiver_it_trusts_with_webhook_ca_file() {
    let pem =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("binary-webhooks-{}.pem", std::process::id()));
    let tls = tls_identity(&pem);
    let (_binary, base) = start(&["--webhook-ca-file".as_ref(), pem.as_os_str()]);
    let (url, requests) = receiver(Some(tls)).await;
    v1_and_v2_arrive(&base, &url, requests).await;
}

/// A v1 and a v2 endpoint for `url`, and a test delivery of each arriving there.
async fn v1_and_v2_arrive(base: &str, url: &str, mut requests: tokio::sync::mpsc::UnboundedReceiver<String>) {
    let client = reqwest::Client::new();

    let (status, v1) = post(
        &client,
        format!("{base}/v1/webhooks/"),
        "unused",
        json!({"url": url, "events": ["claim.created"]}),
    )
    .await;
    assert_eq!(status, 201, "{v1}");
    let id = v1["id"].as_str().expect("v1 webhook id");
    let (status, queued) = post(&client, format!("{base}/v1/webhooks/{id}/test/"), "unused", json!({})).await;
    assert_eq!(status, 201, "{queued}");
    let head = next_request(&mut requests).await.to_ascii_lowercase();
    assert!(head.starts_with("post /hook"), "{head}");
    assert!(head.contains("x-paywise-event: claim.created"), "{head}");

    let (status, v2) = post(
        &client,
        format!("{base}/v2/webhooks/"),
        "hook-1",
        json!({"url": url, "events": ["order.submitted"]}),
    )
    .await;
    assert_eq!(status, 201, "{v2}");
    let id = v2["id"].as_str().expect("v2 webhook id");
    let (status, queued) = post(
        &client,
        format!("{base}/v2/webhooks/{id}/test/"),
        "test-1",
        json!({"event": "order.submitted"}),
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    let head = next_request(&mut requests).await.to_ascii_lowercase();
    assert!(head.starts_with("post /hook"), "{head}");
    assert!(head.contains("webhook-signature: v1,"), "{head}");
}
