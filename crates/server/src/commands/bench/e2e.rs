//! `confab bench e2e`: a real `confab serve` (this binary, in a child process, so its memory
//! and CPU are its own) on a fresh database with one WhatsApp number whose assistant answers
//! through the fake LLM (OpenAI wire, a set latency) and sends through the fake Graph API,
//! which posts `sent`, `delivered` and `read` back, signed. The load generator of
//! `crates/sim` posts inbound messages at a fixed rate; afterwards, given a drain time, every
//! reply is matched to its message (see `confab_sim::load::e2e`).

use super::TempDir;
use anyhow::{bail, Context};
use confab_domain::{PhoneNumber, Provider, Secret, SenderStatus};
use confab_sim::fake_graph_api::{FakeGraphApi, FakeGraphConfig, StatusWebhook};
use confab_sim::fake_llm::{FakeLlm, FakeLlmConfig};
use confab_sim::load::e2e::{self, E2eConfig, E2eReport};
use confab_sim::meta_webhook::BusinessNumber;
use confab_storage::{NewAssistant, NewSender};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct E2eArgs {
    /// Inbound messages per second (open loop).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 30)]
    pub duration_secs: u64,
    /// The fake LLM's latency per call, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub llm_latency_ms: u64,
    /// How long to wait after the last post for replies still on their way.
    #[arg(long, default_value_t = 15)]
    pub drain_secs: u64,
    /// Distinct customers (default: enough that each writes every 10 seconds).
    #[arg(long)]
    pub customers: Option<usize>,
    /// The server's turn_concurrency (default: twice the rate times the LLM latency, so turns
    /// waiting on the LLM are not what limits the run; at least 8).
    #[arg(long)]
    pub turn_concurrency: Option<usize>,
    /// Inbound posts in flight at most.
    #[arg(long, default_value_t = 256)]
    pub connections: usize,
    /// Make the fresh database on this PostgreSQL server instead of SQLite.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Write the figures as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

const PHONE_NUMBER_ID: &str = "100000000000002";
const TOKEN: &str = "bench-graph-token";

pub async fn run(args: E2eArgs) -> anyhow::Result<()> {
    if args.rate <= 0.0 || args.duration_secs == 0 || args.connections == 0 {
        bail!("--rate, --duration-secs and --connections must be positive");
    }
    let (database_url, _dir) = match &args.postgres {
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
    let backend = if args.postgres.is_some() { "postgres" } else { "sqlite" };
    prepare(&database_url).await?;

    let llm_latency = Duration::from_millis(args.llm_latency_ms);
    let llm = FakeLlm::start_with(FakeLlmConfig::new().with_echo_latency(llm_latency).forgetting_requests()).await?;
    let port = free_port()?;
    let target = format!("http://127.0.0.1:{port}");
    let secret = uuid::Uuid::new_v4().simple().to_string();
    // Meta posts three statuses per reply; to offer them at that rate while each post waits up
    // to ~50 ms for its answer, about 3 × rate × 0.05 posts must be in flight (Little's law)
    let status_posters = ((args.rate * 3.0 * 0.05).ceil() as usize).clamp(16, 1_024);
    let graph = FakeGraphApi::start(
        FakeGraphConfig::new()
            .with_number(PHONE_NUMBER_ID, "15550000002", TOKEN)
            .with_status_webhook(StatusWebhook::new(format!("{target}/webhooks/whatsapp"), secret.clone()))
            .with_status_posters(status_posters),
    )
    .await?;
    let turns = args
        .turn_concurrency
        .unwrap_or(((args.rate * llm_latency.as_secs_f64() * 2.0).ceil() as usize).max(8))
        .clamp(1, 10_000);
    let mut server = Server::spawn(port, &database_url, &secret, &graph.base_url(), &llm.base_url(), turns)?;
    server.wait_until_up(&target).await?;

    let customers = args.customers.unwrap_or((args.rate * 10.0).ceil() as usize).max(1);
    eprintln!(
        "confab bench e2e: {target} ({backend}), {} inbound/s for {} s from {customers} customers, LLM latency {} ms, \
         {turns} turns at once…",
        args.rate, args.duration_secs, args.llm_latency_ms
    );
    let cpu_before = server.cpu_seconds();
    let run = e2e::post_inbound(E2eConfig {
        target: target.clone(),
        app_secret: secret,
        number: BusinessNumber { phone_number_id: PHONE_NUMBER_ID.into(), display_phone_number: "15550000002".into() },
        rate: args.rate,
        duration: Duration::from_secs(args.duration_secs),
        customers,
        llm_latency,
        connections: args.connections,
    })
    .await
    .context("the load generator could not start")?;
    let drain_until = Instant::now() + Duration::from_secs(args.drain_secs);
    while Instant::now() < drain_until && run.unanswered(&graph.sent()) > 0 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // the statuses of the last replies are still on their way: give them a moment
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = run.analyse(&graph.sent());
    let cpu = server.cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    let rss = server.peak_rss_mb();
    let posts = graph.status_posts();
    let statuses_ok = posts.iter().filter(|p| p.http_status == Some(200)).count();
    let statuses_failed = posts.len() - statuses_ok;
    server.stop();

    print_table(&report, backend, args.llm_latency_ms, cpu, rss, statuses_ok, statuses_failed);
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "scenario": "e2e",
            "backend": backend,
            "rate": args.rate,
            "llm_latency_ms": args.llm_latency_ms,
            "customers": customers,
            "turn_concurrency": turns,
            "report": report,
            "status_webhooks_answered_200": statuses_ok,
            "status_webhooks_failed": statuses_failed,
            "server_cpu_cores": cpu.map(|c| c / report.seconds.max(1e-6)),
            "server_peak_rss_mb": rss,
        });
        std::fs::write(path, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Migrates the fresh database and configures the number and its assistant.
async fn prepare(database_url: &str) -> anyhow::Result<()> {
    let store = confab_storage::connect(database_url).await?;
    store.migrate().await?;
    let workspace = store.ensure_default_workspace("Benchmark").await?.id;
    let mut assistant = NewAssistant::new(workspace, "Bench", "Answer briefly.");
    assistant.model = Some("gpt-4o-mini".into());
    let assistant = store.create_assistant(assistant).await?;
    store
        .create_sender(NewSender {
            workspace_id: workspace,
            provider: Provider::Meta,
            provider_sender_id: PHONE_NUMBER_ID.into(),
            display_phone: PhoneNumber::parse("+15550000002")?,
            access_token: Secret::new(TOKEN),
            assistant_id: assistant.id,
            ai_enabled: true,
            status: SenderStatus::Online,
        })
        .await?;
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[allow(clippy::too_many_arguments)]
fn print_table(
    r: &E2eReport,
    backend: &str,
    llm_ms: u64,
    cpu: Option<f64>,
    rss: Option<f64>,
    statuses_ok: usize,
    statuses_failed: usize,
) {
    let row = |name: &str, l: &confab_sim::load::latency::LatencySummary| {
        println!(
            "{name:<20}p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1} ms ({} samples)",
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.samples
        );
    };
    println!("scenario            e2e ({backend}, `confab serve` in a child process, LLM latency {llm_ms} ms)");
    println!(
        "inbound             {} acknowledged of {} in {:.1} s ({:.0}/s, {} errors)",
        r.inbound_acknowledged, r.inbound_posted, r.seconds, r.inbound_per_second, r.inbound_errors
    );
    row("ack latency", &r.ack_latency);
    println!("replies             {} (lost {}, duplicate {})", r.replies, r.lost, r.duplicates);
    row("response time", &r.response_time);
    row("overhead (−LLM)", &r.overhead);
    println!("status webhooks     {statuses_ok} answered 200, {statuses_failed} failed");
    if let Some(cpu) = cpu {
        println!("server CPU          {:.2} cores", cpu / r.seconds.max(1e-6));
    }
    if let Some(rss) = rss {
        println!("server peak RSS     {rss:.0} MB");
    }
}

/// `confab serve` in a child process, killed when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn spawn(
        port: u16,
        database_url: &str,
        secret: &str,
        graph_url: &str,
        llm_url: &str,
        turns: usize,
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the confab binary to start the server")?;
        let child = Command::new(exe)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env_remove("CONFAB_CONFIG")
            .env("CONFAB_DATABASE_URL", database_url)
            .env("CONFAB_WHATSAPP_APP_SECRET", secret)
            .env("CONFAB_WHATSAPP_GRAPH_URL", graph_url)
            .env("CONFAB_WHATSAPP_SENDS_PER_SECOND", "100000")
            .env("CONFAB_LLM_PROVIDER", "openai")
            .env("CONFAB_LLM_BASE_URL", llm_url)
            .env("CONFAB_LLM_API_KEY", "bench")
            .env("CONFAB_LLM_MODEL", "gpt-4o-mini")
            .env("CONFAB_TURN_CONCURRENCY", turns.to_string())
            .env("CONFAB_LOG", std::env::var("CONFAB_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .spawn()
            .context("cannot start `confab serve`")?;
        Ok(Self { child })
    }

    async fn wait_until_up(&mut self, target: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait()? {
                bail!("`confab serve` exited at start ({status})");
            }
            if client.get(format!("{target}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("`confab serve` did not answer /healthz within 10 s")
    }

    fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    fn peak_rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
