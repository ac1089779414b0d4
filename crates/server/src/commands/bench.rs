//! `confab bench`: the benchmarks. `seed` fills a database with realistic history
//! ([`seed`]); `query` times the read paths on it ([`query`]); `e2e` measures inbound → AI →
//! outbound under load ([`e2e`]).
//!
//! `confab bench ingest`: the load generator of `crates/sim` against a confab. Without `--url`
//! it starts its own server in this process on a fresh database (a temporary SQLite file, or a
//! new database on `--postgres URL`) with one WhatsApp number whose AI is off (webhooks only),
//! and afterwards checks that every acknowledged message was stored. Prints a table and, with
//! `--json FILE`, writes the figures.

pub mod e2e;
mod latency_table;
mod progress;
pub mod query;
pub mod seed;
mod seed_data;

use crate::config::Settings;
use crate::http;
use crate::state::AppState;
use anyhow::{bail, Context};
use confab_domain::{PhoneNumber, Provider, Secret, SenderStatus, WorkspaceId};
use confab_sim::load::ingest::{self, IngestConfig, IngestReport};
use confab_sim::meta_webhook::BusinessNumber;
use confab_storage::{ConversationFilter, NewAssistant, NewSender, PageRequest, Store};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct IngestArgs {
    /// A running confab to load (default: start one in this process on a fresh database).
    #[arg(long)]
    pub url: Option<String>,
    /// With --url: its CONFAB_WHATSAPP_APP_SECRET.
    #[arg(long)]
    pub app_secret: Option<String>,
    /// With --url: the phone-number id of a sender configured there.
    #[arg(long)]
    pub phone_number_id: Option<String>,
    /// Without --url: make the fresh database on this PostgreSQL server instead of SQLite.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Posts in flight at once.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Posts per second (open loop); omit to go as fast as the connections allow.
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Share of posts that re-deliver the previous one, as Meta does (0.0–1.0).
    #[arg(long, default_value_t = 0.1)]
    pub duplicates: f64,
    /// Messages per webhook POST.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    #[arg(long, default_value_t = 1000)]
    pub customers: usize,
    /// Write the figures as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

const PHONE_NUMBER_ID: &str = "100000000000001";

pub async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.duplicates) || args.batch == 0 || args.batch > 1000 || args.connections == 0 {
        bail!("--duplicates must be 0.0–1.0, --batch 1–1000 and --connections at least 1");
    }
    let number = |id: String| BusinessNumber { phone_number_id: id, display_phone_number: "15550000001".into() };
    let (target, secret, business, local) = match &args.url {
        Some(url) => {
            let secret = args
                .app_secret
                .clone()
                .context("--url needs --app-secret (the server's CONFAB_WHATSAPP_APP_SECRET)")?;
            let id =
                args.phone_number_id.clone().context("--url needs --phone-number-id (a sender configured there)")?;
            (url.trim_end_matches('/').to_string(), secret, number(id), None)
        }
        None => {
            let local = LocalServer::start(args.postgres.as_deref()).await?;
            (local.url.clone(), local.secret.clone(), number(PHONE_NUMBER_ID.into()), Some(local))
        }
    };
    eprintln!(
        "confab bench ingest: {} for {} s, {} connections, {}, {:.0}% re-deliveries, {} message(s) per post…",
        target,
        args.duration_secs,
        args.connections,
        args.rate.map_or("as fast as possible".to_string(), |r| format!("{r} posts/s")),
        args.duplicates * 100.0,
        args.batch
    );
    let cpu_before = process_cpu_seconds();
    let report = ingest::run(IngestConfig {
        target,
        app_secret: secret,
        number: business,
        connections: args.connections,
        rate: args.rate,
        duration: Duration::from_secs(args.duration_secs),
        duplicate_share: args.duplicates,
        messages_per_post: args.batch,
        customers: args.customers,
    })
    .await
    .context("the load generator could not start")?;
    let cpu = process_cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    let stored = match &local {
        Some(local) => Some(local.stored_messages().await?),
        None => None,
    };
    print_table(&report, stored, cpu, local.as_ref().map(|l| l.backend));
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "scenario": "ingest",
            "report": report,
            "stored_messages": stored,
            "process_cpu_seconds": cpu,
            "process_peak_rss_mb": peak_rss_mb(),
            "backend": local.as_ref().map(|l| l.backend),
        });
        std::fs::write(path, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(stored) = stored {
        if stored != report.acknowledged_unique_messages {
            bail!("{} messages were acknowledged but {stored} are stored", report.acknowledged_unique_messages);
        }
    }
    Ok(())
}

fn print_table(report: &IngestReport, stored: Option<u64>, cpu: Option<f64>, backend: Option<&str>) {
    let l = &report.ack_latency;
    println!("scenario            ingest{}", backend.map(|b| format!(" ({b}, in-process server)")).unwrap_or_default());
    println!("duration            {:.1} s", report.seconds);
    println!(
        "posts acknowledged  {} of {} ({} errors, {} re-deliveries)",
        report.acknowledged_posts, report.posts, report.errors, report.duplicate_posts
    );
    println!(
        "throughput          {:.0} posts/s, {:.0} new messages/s",
        report.posts_per_second, report.messages_per_second
    );
    println!("ack latency (ms)    p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}", l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms);
    if let Some(stored) = stored {
        println!(
            "durability          {stored} stored of {} acknowledged new messages",
            report.acknowledged_unique_messages
        );
    }
    if let Some(cpu) = cpu {
        println!("process CPU         {:.1} cores (server and load generator together)", cpu / report.seconds);
    }
    if let Some(rss) = peak_rss_mb() {
        println!("process peak RSS    {rss:.0} MB (server and load generator together)");
    }
}

/// A confab served from this process on a fresh database, for the benchmark.
struct LocalServer {
    url: String,
    secret: String,
    store: Arc<dyn Store>,
    workspace: WorkspaceId,
    backend: &'static str,
    _dir: Option<TempDir>,
}

impl LocalServer {
    async fn start(postgres: Option<&str>) -> anyhow::Result<Self> {
        let (database_url, dir) = match postgres {
            Some(base) => (
                confab_storage::postgres::testing::fresh_database(base)
                    .await
                    .context("cannot make a fresh PostgreSQL database")?,
                None,
            ),
            None => {
                let dir = TempDir::new()?;
                (format!("sqlite://{}", dir.0.join("bench.db").display()), Some(dir))
            }
        };
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let settings = Settings {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            whatsapp_app_secret: Some(Secret::new(secret.clone())),
            log: "warn".into(),
            ..Settings::default()
        };
        let store = super::open_store(&settings).await?;
        let workspace = store.ensure_default_workspace("Benchmark").await?.id;
        let assistant = store.create_assistant(NewAssistant::new(workspace, "Bench", "Answer briefly.")).await?;
        store
            .create_sender(NewSender {
                workspace_id: workspace,
                provider: Provider::Meta,
                provider_sender_id: PHONE_NUMBER_ID.into(),
                display_phone: PhoneNumber::parse("+15550000001")?,
                access_token: Secret::new("bench"),
                assistant_id: assistant.id,
                ai_enabled: false,
                status: SenderStatus::Online,
            })
            .await?;
        let listener = tokio::net::TcpListener::bind(settings.bind).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let backend = store.backend();
        let state = AppState::new(store.clone(), Arc::new(settings), workspace);
        tokio::spawn(http::launch(state, listener, std::future::pending()));
        Ok(Self { url, secret, store, workspace, backend, _dir: dir })
    }

    /// Customer messages stored, counted through the conversations' totals.
    async fn stored_messages(&self) -> anyhow::Result<u64> {
        let mut total = 0;
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let got = self.store.list_conversations(self.workspace, &ConversationFilter::default(), page).await?;
            total += got.items.iter().map(|c| u64::try_from(c.customer_message_count).unwrap_or(0)).sum::<u64>();
            match got.next {
                Some(after) => page.after = Some(after),
                None => return Ok(total),
            }
        }
    }
}

/// A folder removed when dropped.
struct TempDir(pub(crate) std::path::PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("confab-bench-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// User + system CPU seconds of this process so far (Linux).
pub(crate) fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Peak resident memory of this process, in MB (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
