//! `confab bench query`: times the dashboard and API read paths on a seeded database
//! (`confab bench seed`): the conversation list's first page unfiltered and with each single
//! filter, a later page, one conversation with its messages, metrics over 7 and 30 days, the
//! dashboard's HTML pages (the list with each single filter, a conversation, analytics) under
//! a logged-in session, and the message export's streaming rate with the server's memory
//! meanwhile.
//!
//! Without `--target` it serves the configured database from this process (so the memory it
//! reports is the server's, plus this small client), signed in to the dashboard as a viewer it
//! adds (`bench-query-…@confab.invalid`, with a random password nobody knows); with
//! `--target URL --api-key KEY` it measures a running confab, and its dashboard pages too when
//! given `--session TOKEN` (the value of a logged-in browser's `confab_session` cookie). Times are measured by the client over loopback HTTP, from the
//! request to the last byte of the answer: server time plus well under a millisecond.

use super::latency_table::{print_rows, QueryTiming};
use crate::config::Settings;
use crate::dashboard::session;
use crate::http;
use crate::state::AppState;
use anyhow::{bail, Context};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use confab_domain::{ApiKeySecret, Email, UserRole, WorkspaceId};
use confab_sim::load::latency::Latencies;
use confab_storage::NewUser;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(clap::Args, Debug, Clone)]
pub struct QueryArgs {
    /// A running confab to measure (default: serve the configured database from this process).
    #[arg(long)]
    pub target: Option<String>,
    /// With --target: an API key of the workspace to read.
    #[arg(long)]
    pub api_key: Option<String>,
    /// With --target: a dashboard session token of that workspace (the `confab_session`
    /// cookie), to time the dashboard pages as well.
    #[arg(long)]
    pub session: Option<String>,
    /// Timed runs of each query (after one untimed warm-up run).
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// Days of messages (back from now) the export streams.
    #[arg(long, default_value_t = 7)]
    pub export_days: i64,
    /// Write the figures as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Leave out the queries whose name contains this text (repeatable), e.g. `metrics`.
    #[arg(long)]
    pub skip: Vec<String>,
}

/// What the message export did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ExportTiming {
    pub days: i64,
    pub messages: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub messages_per_second: f64,
    /// Resident memory of this process before and at most during the export (in-process only).
    pub rss_before_mb: Option<f64>,
    pub rss_max_mb: Option<f64>,
    /// CPU seconds this process (server and client) spent on the export (in-process only):
    /// the cost of the export whatever else the machine is doing.
    pub cpu_seconds: Option<f64>,
}

pub async fn run(mut settings: Settings, args: QueryArgs) -> anyhow::Result<()> {
    let (base, key, session, _server) = match &args.target {
        Some(url) => {
            let key = args.api_key.clone().context("--target needs --api-key (a key of the workspace to read)")?;
            (url.trim_end_matches('/').to_string(), key, args.session.clone(), None)
        }
        None => {
            settings.api_rate_limit_per_minute = 0;
            settings.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let store = super::super::open_store(&settings).await?;
            let workspace = store.ensure_default_workspace(&settings.default_workspace_name).await?.id;
            let mut random = [0u8; 32];
            OsRng.fill_bytes(&mut random);
            let secret = ApiKeySecret::from_random(random);
            store.create_api_key(workspace, "bench query", &secret).await?;
            let listener = tokio::net::TcpListener::bind(settings.bind).await?;
            let url = format!("http://{}", listener.local_addr()?);
            let state = AppState::new(store, Arc::new(settings), workspace);
            let session = dashboard_session(&state, workspace).await?;
            let server = tokio::spawn(http::launch(state, listener, std::future::pending()));
            (url, secret.secret.expose().to_string(), Some(session), Some(server))
        }
    };
    let client = Client {
        // a page that answers with a redirect (to the login form) is a failure, not a timing
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?,
        base,
        key,
        session,
    };
    let mut queries = client.plan().await?;
    queries.retain(|(name, _)| !args.skip.iter().any(|skip| name.contains(skip.as_str())));
    eprintln!("confab bench query: {} queries × {} runs against {}…", queries.len(), args.iterations, client.base);
    let mut rows = Vec::new();
    for (name, path) in &queries {
        rows.push(client.time(name, path, args.iterations).await?);
    }
    let export = client.export(args.export_days, args.target.is_none()).await?;
    print_rows(&rows);
    println!(
        "export (messages, csv, last {} days): {} messages, {:.1} MB in {:.2} s = {:.0} messages/s{}",
        export.days,
        export.messages,
        export.bytes as f64 / 1e6,
        export.seconds,
        export.messages_per_second,
        match (export.rss_before_mb, export.rss_max_mb) {
            (Some(before), Some(max)) => format!(", RSS {before:.0} MB before, {max:.0} MB at most during"),
            _ => String::new(),
        }
    );
    if let Some(cpu) = export.cpu_seconds {
        println!(
            "export CPU: {cpu:.2} s (server and client) = {:.0} messages per CPU-second",
            export.messages as f64 / cpu.max(1e-6)
        );
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({ "scenario": "query", "queries": rows, "export": export });
        std::fs::write(path, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// A dashboard session for a viewer added to `workspace` (its password is random and
/// forgotten: the session is the only way in). Returns the session cookie's token.
async fn dashboard_session(state: &AppState, workspace: WorkspaceId) -> anyhow::Result<String> {
    let mut random = [0u8; 16];
    OsRng.fill_bytes(&mut random);
    let name = hex::encode(random);
    let user = state
        .store
        .create_user(NewUser {
            workspace_id: workspace,
            email: Email::parse(&format!("bench-query-{name}@confab.invalid"))?,
            role: UserRole::Viewer,
            password_hash: crate::passwords::hash(&session::random_token())?,
        })
        .await?;
    let cookie = session::start(state, &user).await?;
    let token = cookie
        .to_str()?
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix(&format!("{}=", session::COOKIE)))
        .context("the session cookie has no token")?;
    Ok(token.to_string())
}

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
    /// A dashboard session token, for the HTML pages.
    session: Option<String>,
}

impl Client {
    /// A GET of `path`: an API path with the key, a dashboard page with the session.
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.get(format!("{}{path}", self.base));
        match &self.session {
            Some(token) if !path.starts_with("/api/") => {
                request.header(reqwest::header::COOKIE, format!("{}={token}", session::COOKIE))
            }
            _ => request.bearer_auth(&self.key),
        }
    }

    async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let res = self.get(path).send().await?;
        let status = res.status();
        if !status.is_success() {
            bail!("GET {path} answered {status}: {}", res.text().await.unwrap_or_default());
        }
        Ok(res.json().await?)
    }

    /// The queries to time, with parameters taken from the data: a customer and a
    /// conversation from the middle of the history, the busiest assistant, the first number.
    async fn plan(&self) -> anyhow::Result<Vec<(String, String)>> {
        let now = OffsetDateTime::now_utc();
        let at = |days: i64| (now - time::Duration::days(days)).format(&Rfc3339).unwrap_or_default();
        let middle = self.get_json(&format!("/api/v1/conversations?limit=1&to={}", at(45))).await?;
        let Some(sample) = middle["items"].get(0).cloned() else {
            bail!("the database has no conversations older than 45 days; seed it first with `confab bench seed`")
        };
        let conversation = text(&sample["id"]);
        let assistant = text(&sample["assistant_id"]);
        let whatsapp = self.get_json(&format!("/api/v1/conversations?limit=1&type=whatsapp&to={}", at(45))).await?;
        let customer = whatsapp["items"]
            .get(0)
            .map(|c| text(&c["customer"]["phone"]))
            .filter(|p| !p.is_empty())
            .context("no WhatsApp conversation to take a customer from")?;
        let senders = self.get_json("/api/v1/senders").await?;
        let first_sender = senders.get("items").unwrap_or(&senders).get(0).context("no sender to filter by")?;
        let sender_phone =
            Some(text(&first_sender["display_phone_number"])).filter(|p| !p.is_empty()).context("no sender number")?;
        let sender_id = text(&first_sender["id"]);
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let page1 = self.get_json("/api/v1/conversations?limit=50").await?;
        let cursor = text(&page1["next_cursor"]);
        let list = "/api/v1/conversations?limit=50";
        let mut queries: Vec<(String, String)> = vec![
            ("list, no filter".into(), list.into()),
            ("list, page 2 (cursor)".into(), format!("{list}&cursor={}", enc(&cursor))),
            ("list, type=whatsapp".into(), format!("{list}&type=whatsapp")),
            ("list, type=api".into(), format!("{list}&type=api")),
            ("list, assistant".into(), format!("{list}&assistant_id={assistant}")),
            ("list, customer".into(), format!("{list}&customer={}", enc(&customer))),
            ("list, sender_phone".into(), format!("{list}&sender_phone={}", enc(&sender_phone))),
            ("list, status=active".into(), format!("{list}&status=active")),
            ("list, status=ended".into(), format!("{list}&status=ended")),
            ("list, 7 days 30 days ago".into(), format!("{list}&from={}&to={}", enc(&at(30)), enc(&at(23)))),
            ("conversation + messages".into(), format!("/api/v1/conversations/{conversation}")),
            ("metrics, 7 days".into(), format!("/api/v1/metrics?from={}", enc(&at(7)))),
            ("metrics, 30 days".into(), "/api/v1/metrics".into()),
        ];
        if self.session.is_some() {
            let pages: [(&str, String); 13] = [
                ("page: list, no filter", "/conversations".into()),
                ("page: list, page 2 (cursor)", format!("/conversations?cursor={}", enc(&cursor))),
                ("page: list, type=whatsapp", "/conversations?type=whatsapp".into()),
                ("page: list, type=api", "/conversations?type=api".into()),
                ("page: list, assistant", format!("/conversations?assistant_id={assistant}")),
                ("page: list, number", format!("/conversations?sender_id={sender_id}")),
                ("page: list, customer", format!("/conversations?customer={}", enc(&customer))),
                ("page: list, status=active", "/conversations?status=active".into()),
                ("page: list, status=ended", "/conversations?status=ended".into()),
                ("page: list, last 7 days", "/conversations?range=7".into()),
                ("page: list, failed deliveries", "/conversations?failed=1".into()),
                ("page: conversation", format!("/conversations/{conversation}")),
                ("page: analytics", "/analytics".into()),
            ];
            queries.extend(pages.into_iter().map(|(name, path)| (name.to_string(), path)));
        }
        Ok(queries)
    }

    async fn time(&self, name: &str, path: &str, iterations: usize) -> anyhow::Result<QueryTiming> {
        let mut latencies = Latencies::default();
        let mut bytes = 0;
        for i in 0..=iterations {
            let started = Instant::now();
            let res = self.get(path).send().await?;
            let status = res.status();
            let body = res.bytes().await?;
            let took = started.elapsed();
            if !status.is_success() {
                bail!("{name}: GET {path} answered {status}: {}", String::from_utf8_lossy(&body));
            }
            bytes = body.len();
            if i > 0 {
                latencies.record(took);
            }
        }
        Ok(QueryTiming { name: name.into(), path: path.into(), bytes, latency: latencies.summary() })
    }

    /// Streams a message export and counts its lines, sampling this process's memory.
    async fn export(&self, days: i64, in_process: bool) -> anyhow::Result<ExportTiming> {
        let from = (OffsetDateTime::now_utc() - time::Duration::days(days)).format(&Rfc3339)?;
        let path = format!(
            "/api/v1/conversations/export?level=message&format=csv&from={}",
            form_urlencoded::byte_serialize(from.as_bytes()).collect::<String>()
        );
        let rss_before = in_process.then(rss_mb).flatten();
        let max_rss = Arc::new(AtomicU64::new(0));
        let sampler = in_process.then(|| {
            let max_rss = max_rss.clone();
            tokio::spawn(async move {
                loop {
                    if let Some(mb) = rss_mb() {
                        max_rss.fetch_max((mb * 1000.0) as u64, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        });
        let cpu_before = super::process_cpu_seconds();
        let started = Instant::now();
        let mut res = self.get(&path).send().await?;
        if !res.status().is_success() {
            bail!("the export answered {}", res.status());
        }
        let (mut bytes, mut lines) = (0_u64, 0_u64);
        while let Some(chunk) = res.chunk().await? {
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu_seconds = super::process_cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
        if let Some(sampler) = sampler {
            sampler.abort();
        }
        // the header line is not a message; a newline inside a quoted CSV field would count
        // as one more, and the seeded texts have none
        let messages = lines.saturating_sub(1);
        Ok(ExportTiming {
            days,
            messages,
            bytes,
            seconds,
            messages_per_second: messages as f64 / seconds.max(1e-6),
            rss_before_mb: rss_before,
            rss_max_mb: in_process.then(|| max_rss.load(Ordering::Relaxed) as f64 / 1000.0),
            cpu_seconds: cpu_seconds.filter(|_| in_process),
        })
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Resident memory of this process now, in MB (Linux).
fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
