//! `spawn_app()`: the real router on 127.0.0.1:0 with a fresh database, and typed helpers.

#![allow(dead_code)]

pub mod dashboard_visitor;

use confab_domain::{ApiKeySecret, PhoneNumber, Provider, Secret, Sender, SenderStatus, WorkspaceId};
use confab_server::config::Settings;
use confab_server::http;
use confab_server::state::AppState;
use confab_storage::Store;
use confab_storage::{NewAssistant, NewSender};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;

pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
    _stop_turns: oneshot::Sender<()>,
    _dir: Option<tempfile::TempDir>,
}

pub enum Backend {
    Sqlite,
    /// A fresh database on `CONFAB_TEST_POSTGRES_URL`'s server.
    Postgres(String),
}

/// The backends to run a test on: SQLite always, PostgreSQL when configured (required in CI).
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    match std::env::var("CONFAB_TEST_POSTGRES_URL") {
        Ok(url) => all.push(Backend::Postgres(url)),
        Err(_) => {
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI=true requires CONFAB_TEST_POSTGRES_URL");
            eprintln!("skipping PostgreSQL: set CONFAB_TEST_POSTGRES_URL=postgres://… to run it");
        }
    }
    all
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(Backend::Sqlite).await
}

pub async fn spawn_app_on(backend: Backend) -> TestApp {
    start(backend, None, |_| {}).await
}

/// The app with a turn worker answering through `responder`, and settings adjusted by `tune`.
/// (Plain `spawn_app` runs no worker, so tests can drive turns themselves.)
pub async fn spawn_app_with(
    backend: Backend,
    responder: Arc<dyn confab_engine::responder::Responder>,
    tune: impl FnOnce(&mut Settings),
) -> TestApp {
    start(backend, Some(responder), tune).await
}

async fn start(
    backend: Backend,
    responder: Option<Arc<dyn confab_engine::responder::Responder>>,
    tune: impl FnOnce(&mut Settings),
) -> TestApp {
    let (database_url, dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            (format!("sqlite://{}", dir.path().join("confab.db").display()), Some(dir))
        }
        Backend::Postgres(base) => {
            (confab_storage::postgres::testing::fresh_database(&base).await.expect("test database"), None)
        }
    };
    let settings = Settings {
        database_url,
        whatsapp_app_secret: Some(Secret::new(APP_SECRET)),
        whatsapp_verify_token: Some(Secret::new(VERIFY_TOKEN)),
        ..Settings::default()
    };
    let mut settings = settings;
    tune(&mut settings);
    let store = confab_server::commands::open_store(&settings).await.expect("store");
    let workspace = store.ensure_default_workspace("Test workspace").await.expect("workspace").id;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let (turn_committed, _) = tokio::sync::broadcast::channel(64);
    let turns = responder.map(|responder| {
        Arc::new(
            confab_engine::turn_worker::TurnWorker::new(
                store.clone(),
                responder,
                Arc::new(confab_engine::clock::SystemClock),
                "test-worker",
                confab_engine::turn_worker::TurnPolicy::default(),
                Arc::new(tokio::sync::Notify::new()),
            )
            .with_commit_events(turn_committed.clone()),
        )
    });
    let state = AppState {
        turn_wake: turns.as_ref().map_or_else(|| Arc::new(tokio::sync::Notify::new()), |t| t.waker()),
        turn_committed,
        ..AppState::new(store.clone(), Arc::new(settings), workspace)
    };
    let (stop_turns, turns_stopped) = oneshot::channel::<()>();
    if let Some(turns) = turns {
        tokio::spawn(turns.run(2, async {
            let _ = turns_stopped.await;
        }));
    }
    tokio::spawn(http::launch(state, listener, async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        store,
        workspace,
        client: reqwest::Client::new(),
        _shutdown: tx,
        _stop_turns: stop_turns,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A new API key for `workspace`, returned in clear.
    pub async fn api_key(&self, workspace: WorkspaceId) -> String {
        let secret = ApiKeySecret::from_random(rand_bytes());
        self.store.create_api_key(workspace, "test", &secret).await.expect("key");
        secret.secret.expose().to_string()
    }

    /// An assistant and a Meta sender for `phone_number_id` in the default workspace.
    pub async fn meta_sender(&self, phone_number_id: &str) -> Sender {
        self.sender(Provider::Meta, phone_number_id, "+15550783881", "EAAG-test-token").await
    }

    /// An assistant and a Twilio sender for the WhatsApp number `number` in the default
    /// workspace; `access_token` is Twilio's `AccountSid:AuthToken`.
    pub async fn twilio_sender(&self, number: &str, access_token: &str) -> Sender {
        self.sender(Provider::Twilio, number, number, access_token).await
    }

    async fn sender(&self, provider: Provider, provider_sender_id: &str, display_phone: &str, token: &str) -> Sender {
        let assistant = self
            .store
            .create_assistant(NewAssistant::new(self.workspace, "Front desk", "You help customers."))
            .await
            .expect("assistant");
        self.store
            .create_sender(NewSender {
                workspace_id: self.workspace,
                provider,
                provider_sender_id: provider_sender_id.into(),
                display_phone: PhoneNumber::parse(display_phone).expect("phone"),
                access_token: Secret::new(token),
                assistant_id: assistant.id,
                ai_enabled: true,
                status: SenderStatus::Online,
            })
            .await
            .expect("sender")
    }

    /// POSTs `body` to the WhatsApp webhook with `signature` as `X-Hub-Signature-256`.
    pub async fn post_whatsapp(&self, body: Vec<u8>, signature: Option<&str>) -> reqwest::Response {
        let mut req =
            self.client.post(self.url("/webhooks/whatsapp")).header("content-type", "application/json").body(body);
        if let Some(signature) = signature {
            req = req.header("x-hub-signature-256", signature);
        }
        req.send().await.expect("request")
    }

    /// Signs `payload` as Meta does and POSTs it.
    pub async fn post_signed(&self, payload: &serde_json::Value) -> reqwest::Response {
        let signed = confab_sim::meta_webhook::sign(APP_SECRET, payload);
        self.post_whatsapp(signed.body, Some(&signed.signature)).await
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        req.send().await.expect("request")
    }
}

fn rand_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    let id = uuid::Uuid::now_v7();
    out[..16].copy_from_slice(id.as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out
}
