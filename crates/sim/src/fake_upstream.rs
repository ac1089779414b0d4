//! A fake third-party HTTP API for HTTP tools: it records every request (method, path, query,
//! headers, body) and answers each with the next queued [`UpstreamReply`] (or `200 {"ok":
//! true}` when none is queued) — including replies that never come, for timeouts, and huge
//! bodies, for the response cap.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::task::JoinHandle;

/// One answer the fake gives.
#[derive(Clone, Debug)]
pub struct UpstreamReply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Never answer (the caller's timeout must fire).
    pub hang: bool,
}

impl UpstreamReply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self { status, content_type: "application/json".into(), body: body.to_string().into_bytes(), hang: false }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self { status, content_type: "text/plain; charset=utf-8".into(), body: body.into().into_bytes(), hang: false }
    }

    pub fn hang() -> Self {
        Self { hang: true, ..Self::text(200, "") }
    }
}

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct UpstreamRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl UpstreamRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Default)]
struct Recorded {
    replies: VecDeque<UpstreamReply>,
    requests: Vec<UpstreamRequest>,
}

type Shared = Arc<Mutex<Recorded>>;

/// A running fake API on `127.0.0.1`. Stops when dropped.
pub struct FakeUpstream {
    shared: Shared,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl FakeUpstream {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::default();
        let app = Router::new().fallback(answer).with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            // the listener is gone either way; a serving error ends the fake like a stop
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { shared, addr, server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues the answer to the next request.
    pub fn reply(&self, reply: UpstreamReply) {
        lock(&self.shared).replies.push_back(reply);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<UpstreamRequest> {
        lock(&self.shared).requests.clone()
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Recorded> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 16 * 1024 * 1024).await.map(|b| b.to_vec()).unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let reply = {
        let mut state = lock(&shared);
        state.requests.push(UpstreamRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            body,
        });
        state.replies.pop_front().unwrap_or_else(|| UpstreamReply::json(200, serde_json::json!({ "ok": true })))
    };
    if reply.hang {
        std::future::pending::<()>().await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, reply.content_type)], Body::from(reply.body)).into_response()
}
