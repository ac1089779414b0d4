//! An honest fake of Meta's Graph API `/messages` edge, served on `127.0.0.1:0`.
//!
//! It answers the way the WhatsApp Cloud API does, so confab's `GraphClient`, outbox and
//! status handling can be tested end to end without Meta:
//! - `POST /{version}/{phone_number_id}/messages` sends a message: Meta's success body
//!   (`messaging_product`, `contacts[{input, wa_id}]`, `messages[{id}]`, plus `message_status:
//!   "accepted"` for templates) with a fresh `wamid.…`; or Meta's error bodies: 190 (HTTP 401)
//!   for a wrong bearer token, 100 with subcode 33 for a phone-number id it does not serve,
//!   100 for a body without `messaging_product`, `to`, `type` or the object `type` names.
//! - the same route with `"status": "read"` marks a message read (optionally with a typing
//!   indicator) and answers `{"success": true}`; these are recorded apart from sends.
//! - every request is recorded (phone-number id, the token it carried, the JSON body, the time,
//!   what was answered) for assertions: [`FakeGraphApi::sent`], [`FakeGraphApi::read_marks`].
//! - failures can be injected: [`FakeGraphApi::fail_next`] answers the next requests with a
//!   Meta error (500/131000, 400/130429, 400/131047, 401/190…), [`FakeGraphApi::fail_next_raw`]
//!   with a body that is not JSON (a proxy's 502 page), and [`FakeGraphApi::fail_next_async`]
//!   accepts a send but then reports it `failed` by webhook, as Meta does for many 131026 and
//!   131047 errors.
//! - with a [`StatusWebhook`] configured, each accepted send is followed by signed status
//!   webhooks for its wamid (`sent`, `delivered`, `read`; reactions only get `sent`, as Meta
//!   documents), posted in order from one background task, optionally each twice and/or in
//!   reverse order. [`FakeGraphApi::wait_for_status_posts`] lets tests await them without
//!   sleeping.
//!
//! Deliberate differences from Meta: any API version is accepted (and recorded); `type` is
//! required (Meta defaults it to `text`); a message id marked read need not exist.

mod responses;
mod routes;
mod status_poster;

use serde_json::Value;
use status_poster::{PostJob, StatusPoster};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// A business number the fake serves, and the token it expects for it.
#[derive(Clone, Debug)]
pub struct FakeNumber {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub access_token: String,
}

/// Where and how to post status webhooks after each accepted send.
#[derive(Clone, Debug)]
pub struct StatusWebhook {
    /// The webhook URL, e.g. `http://127.0.0.1:8080/webhooks/whatsapp`.
    pub url: String,
    /// The app secret the bodies are signed with (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// Post every status twice in a row, as Meta sometimes does.
    pub duplicate: bool,
    /// Post a message's statuses newest first (`read`, `delivered`, `sent`).
    pub reverse: bool,
}

impl StatusWebhook {
    pub fn new(url: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self { url: url.into(), app_secret: app_secret.into(), duplicate: false, reverse: false }
    }

    pub fn duplicated(mut self) -> Self {
        self.duplicate = true;
        self
    }

    pub fn reversed(mut self) -> Self {
        self.reverse = true;
        self
    }
}

/// What the fake serves.
#[derive(Clone, Debug, Default)]
pub struct FakeGraphConfig {
    pub numbers: Vec<FakeNumber>,
    pub status_webhook: Option<StatusWebhook>,
    /// How long [`FakeGraphApi::wait_for_status_posts`] waits; 10 seconds by default.
    pub wait_timeout: Option<Duration>,
    /// The category Meta reports in the pricing of template messages; `utility` by default.
    pub template_category: Option<String>,
}

impl FakeGraphConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `phone_number_id`, accepting only `access_token` for it.
    pub fn with_number(
        mut self,
        phone_number_id: impl Into<String>,
        display_phone_number: impl Into<String>,
        access_token: impl Into<String>,
    ) -> Self {
        self.numbers.push(FakeNumber {
            phone_number_id: phone_number_id.into(),
            display_phone_number: display_phone_number.into(),
            access_token: access_token.into(),
        });
        self
    }

    pub fn with_status_webhook(mut self, webhook: StatusWebhook) -> Self {
        self.status_webhook = Some(webhook);
        self
    }

    /// Reports template messages as this pricing category (`marketing`, `utility`,
    /// `authentication`).
    pub fn with_template_category(mut self, category: impl Into<String>) -> Self {
        self.template_category = Some(category.into());
        self
    }
}

/// One send request as the fake saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedSend {
    /// The API version in the path, e.g. `v23.0`.
    pub version: String,
    pub phone_number_id: String,
    /// The bearer token sent, if any.
    pub token: Option<String>,
    /// The request body (`Value::Null` if it was not JSON).
    pub body: Value,
    pub at: OffsetDateTime,
    /// What the fake answered.
    pub http_status: u16,
    /// The wamid given, when the send was accepted.
    pub wamid: Option<String>,
}

/// One "mark as read" request as the fake saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRead {
    pub version: String,
    pub phone_number_id: String,
    pub token: Option<String>,
    /// `message_id`: the customer's wamid marked read.
    pub message_id: Option<String>,
    /// Whether a `typing_indicator` was asked for.
    pub typing_indicator: bool,
    pub body: Value,
    pub at: OffsetDateTime,
    pub http_status: u16,
}

/// One status webhook the fake posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusPost {
    pub wamid: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// The receiver's answer; `None` if the post itself failed (see `error`).
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// The status posts did not all arrive in time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("waited {waited:?} for {wanted} status webhook posts; {done} were made")]
pub struct StatusPostsTimeout {
    pub wanted: usize,
    pub done: usize,
    pub waited: Duration,
}

/// A Graph API answer to give instead of the real one.
#[derive(Clone, Debug)]
enum Injected {
    /// Meta's error JSON with this status, code and title.
    Error { http_status: u16, code: i64, title: String },
    /// A body that is not JSON.
    Raw { http_status: u16, body: String },
}

/// A send to accept and then report failed by webhook.
#[derive(Clone, Debug)]
struct AsyncFailure {
    code: i64,
    title: String,
}

#[derive(Default)]
struct State {
    sends: Vec<RecordedSend>,
    reads: Vec<RecordedRead>,
    injected: VecDeque<Injected>,
    async_failures: VecDeque<AsyncFailure>,
    status_posts: Vec<StatusPost>,
    next_id: u64,
}

/// What the routes and the poster share.
struct Shared {
    config: FakeGraphConfig,
    state: Mutex<State>,
    /// How many status posts have been made; waiters watch it.
    posts_made: watch::Sender<usize>,
    /// Status posts to make, in order.
    post_queue: mpsc::UnboundedSender<PostJob>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn number(&self, phone_number_id: &str) -> Option<&FakeNumber> {
        self.config.numbers.iter().find(|n| n.phone_number_id == phone_number_id)
    }
}

/// A running fake Graph API. Stops when dropped.
pub struct FakeGraphApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    poster: JoinHandle<()>,
}

impl FakeGraphApi {
    /// Starts serving on `127.0.0.1` at a free port.
    pub async fn start(config: FakeGraphConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (posts_made, _) = watch::channel(0);
        let (post_queue, jobs) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared { config, state: Mutex::new(State::default()), posts_made, post_queue });
        let poster = StatusPoster::new(Arc::clone(&shared)).map_err(std::io::Error::other)?;
        let poster = tokio::spawn(poster.run(jobs));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = routes::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            // the listener is gone either way; a serving error ends the fake like a stop
            let _ = serve.await;
        });
        Ok(Self { shared, addr, shutdown: Some(shutdown), server: Some(server), poster })
    }

    /// `http://127.0.0.1:PORT`: the Graph API base URL to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every send request so far, in arrival order, accepted or not.
    pub fn sent(&self) -> Vec<RecordedSend> {
        self.shared.state().sends.clone()
    }

    /// Every "mark as read" request so far, in arrival order.
    pub fn read_marks(&self) -> Vec<RecordedRead> {
        self.shared.state().reads.clone()
    }

    /// Answers the next `n` requests (sends or read marks) with Meta's error body for `code`
    /// and `title`, with HTTP status `http_status`, before looking at token or body.
    pub fn fail_next(&self, n: usize, http_status: u16, code: i64, title: &str) {
        let injected = Injected::Error { http_status, code, title: title.to_owned() };
        self.shared.state().injected.extend(std::iter::repeat_n(injected, n));
    }

    /// Answers the next `n` requests with `http_status` and a body that is not JSON.
    pub fn fail_next_raw(&self, n: usize, http_status: u16, body: &str) {
        let injected = Injected::Raw { http_status, body: body.to_owned() };
        self.shared.state().injected.extend(std::iter::repeat_n(injected, n));
    }

    /// Accepts the next `n` sends, then reports each `failed` with Meta error `code` by status
    /// webhook instead of `sent`/`delivered`/`read`.
    pub fn fail_next_async(&self, n: usize, code: i64, title: &str) {
        let failure = AsyncFailure { code, title: title.to_owned() };
        self.shared.state().async_failures.extend(std::iter::repeat_n(failure, n));
    }

    /// The status webhooks posted so far, in posting order.
    pub fn status_posts(&self) -> Vec<StatusPost> {
        self.shared.state().status_posts.clone()
    }

    /// Waits until at least `n` status webhooks have been posted (answered or failed), then
    /// returns them all.
    pub async fn wait_for_status_posts(&self, n: usize) -> Result<Vec<StatusPost>, StatusPostsTimeout> {
        let waited = self.shared.config.wait_timeout.unwrap_or(Duration::from_secs(10));
        let mut made = self.shared.posts_made.subscribe();
        let arrived = tokio::time::timeout(waited, made.wait_for(|done| *done >= n)).await.is_ok_and(|r| r.is_ok());
        if arrived {
            Ok(self.status_posts())
        } else {
            Err(StatusPostsTimeout { wanted: n, done: *self.shared.posts_made.borrow(), waited })
        }
    }

    /// Stops serving: no new connections; open ones are closed. Status posts still queued are
    /// dropped.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut server).await.is_err() {
                server.abort();
            }
        }
        self.poster.abort();
    }
}

impl Drop for FakeGraphApi {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        self.poster.abort();
    }
}
