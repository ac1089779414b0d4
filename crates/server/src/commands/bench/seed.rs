//! `confab bench seed`: fills the configured database with realistic history (see
//! [`super::seed_data`]) through the store's bulk API, in one transaction per batch. A thread
//! generates the next batch while the store writes the current one. Refuses a database that
//! already has conversations, so figures measured on it mean what they say.

use super::progress::Progress;
use super::seed_data::{SeedGenerator, SeedPlan};
use crate::config::Settings;
use anyhow::{bail, Context};
use confab_domain::{AssistantId, PhoneNumber, Provider, Secret, SenderId, SenderStatus, WorkspaceId};
use confab_storage::{ConversationFilter, NewAssistant, NewSender, PageRequest, Store};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

#[derive(clap::Args, Debug, Clone)]
pub struct SeedArgs {
    /// Conversations to create (spread over the last 90 days).
    #[arg(long, default_value_t = 10_000)]
    pub conversations: u64,
    /// Average messages per conversation.
    #[arg(long, default_value_t = 10)]
    pub messages_per: u32,
    /// Conversations per transaction (default: about 50,000 messages' worth).
    #[arg(long)]
    pub batch: Option<u64>,
    /// Write the figures as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

/// What a seeding run wrote and how fast.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SeedReport {
    pub backend: String,
    pub conversations: u64,
    pub messages: u64,
    pub customers: u64,
    /// Writing the rows, without the statistics refresh at the end.
    pub insert_seconds: f64,
    /// Refreshing the planner's statistics (and, on SQLite, the final checkpoint).
    pub finish_seconds: f64,
    pub rows_per_second: f64,
    pub messages_per_second: f64,
}

/// The three assistants and two WhatsApp numbers seeded conversations use.
const ASSISTANTS: [&str; 3] = ["Sales", "Support", "Bookings"];
const SENDERS: [(&str, &str); 2] = [("109000000000001", "+34911000001"), ("109000000000002", "+525510000002")];

pub async fn run(settings: Settings, args: SeedArgs) -> anyhow::Result<()> {
    if args.conversations == 0 || args.messages_per == 0 {
        bail!("--conversations and --messages-per must be at least 1");
    }
    let store = super::super::open_store(&settings).await?;
    let workspace = store.ensure_default_workspace(&settings.default_workspace_name).await?.id;
    eprintln!(
        "confab bench seed: {} conversations × ~{} messages into {} ({})…",
        args.conversations,
        args.messages_per,
        crate::config::redact_url(&settings.database_url),
        store.backend()
    );
    let report = seed(store, workspace, &args, true).await?;
    println!("backend             {}", report.backend);
    println!(
        "seeded              {} conversations, {} messages, {} customers",
        report.conversations, report.messages, report.customers
    );
    println!(
        "insert              {:.1} s: {:.0} rows/s ({:.0} messages/s)",
        report.insert_seconds, report.rows_per_second, report.messages_per_second
    );
    println!("statistics          {:.1} s", report.finish_seconds);
    if let Some(path) = &args.json {
        let json = serde_json::json!({ "scenario": "seed", "report": report });
        std::fs::write(path, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Seeds `workspace` of `store` as `args` asks; shows progress on standard error if `show`.
pub async fn seed(
    store: Arc<dyn Store>,
    workspace: WorkspaceId,
    args: &SeedArgs,
    show: bool,
) -> anyhow::Result<SeedReport> {
    let existing = store.list_conversations(workspace, &ConversationFilter::default(), PageRequest::first(1)).await?;
    if !existing.items.is_empty() {
        bail!(
            "this database already has conversations; seed an empty one \
             (e.g. --database-url sqlite://seed.db) so the figures measured on it mean what they say"
        );
    }
    let (assistants, senders) = configuration(store.as_ref(), workspace).await?;
    let plan = SeedPlan {
        conversations: args.conversations,
        messages_per: args.messages_per,
        now: OffsetDateTime::now_utc(),
        workspace_id: workspace,
        assistants,
        senders,
        run: uuid::Uuid::now_v7().simple().to_string()[..12].to_string(),
    };
    let per_batch = args.batch.unwrap_or_else(|| (50_000 / u64::from(args.messages_per)).max(1));
    let (batches, mut received) = tokio::sync::mpsc::channel(2);
    let generator = std::thread::spawn(move || {
        let mut generator = SeedGenerator::new(plan);
        while let Some(batch) = generator.next_batch(per_batch) {
            if batches.blocking_send(batch).is_err() {
                break;
            }
        }
    });
    store.begin_bulk_load().await.context("cannot prepare the database for bulk loading")?;
    let started = Instant::now();
    let mut progress = show.then(|| Progress::new("conversations", args.conversations));
    let mut report = SeedReport { backend: store.backend().into(), ..SeedReport::default() };
    while let Some(batch) = received.recv().await {
        store.seed_batch(&batch).await.context("seeding stopped")?;
        report.conversations += batch.conversations.len() as u64;
        report.messages += batch.messages.len() as u64;
        report.customers += batch.customers.len() as u64;
        if let Some(progress) = &mut progress {
            progress.update(report.conversations, report.conversations + report.messages + report.customers);
        }
    }
    if generator.join().is_err() {
        bail!("the data generator stopped unexpectedly");
    }
    report.insert_seconds = started.elapsed().as_secs_f64();
    let finishing = Instant::now();
    store.end_bulk_load().await.context("cannot restore the database settings after seeding")?;
    report.finish_seconds = finishing.elapsed().as_secs_f64();
    let rows = (report.conversations + report.messages + report.customers) as f64;
    report.rows_per_second = rows / report.insert_seconds.max(1e-6);
    report.messages_per_second = report.messages as f64 / report.insert_seconds.max(1e-6);
    Ok(report)
}

/// The seeding assistants and numbers: found by name and number id, made when missing.
async fn configuration(
    store: &dyn Store,
    workspace: WorkspaceId,
) -> anyhow::Result<(Vec<AssistantId>, Vec<(SenderId, AssistantId)>)> {
    let existing = store.list_assistants(workspace).await?;
    let mut assistants = Vec::new();
    for name in ASSISTANTS {
        let id = match existing.iter().find(|a| a.name == name) {
            Some(a) => a.id,
            None => {
                let mut new = NewAssistant::new(
                    workspace,
                    name,
                    format!("You are the {name} assistant of a shoe shop. Answer briefly and kindly."),
                );
                new.model = Some("gpt-4o-mini".into());
                store.create_assistant(new).await?.id
            }
        };
        assistants.push(id);
    }
    let mut senders = Vec::new();
    for (i, (number_id, phone)) in SENDERS.iter().enumerate() {
        let assistant_id = assistants[i % assistants.len()];
        let sender = match store.sender_by_provider_id(Provider::Meta, number_id).await? {
            Some(s) if s.workspace_id == workspace => s,
            Some(_) => bail!("the WhatsApp number id {number_id} belongs to another workspace"),
            None => {
                store
                    .create_sender(NewSender {
                        workspace_id: workspace,
                        provider: Provider::Meta,
                        provider_sender_id: (*number_id).into(),
                        display_phone: PhoneNumber::parse(phone)?,
                        access_token: Secret::new("seeded-number-without-a-token"),
                        assistant_id,
                        ai_enabled: true,
                        status: SenderStatus::Online,
                    })
                    .await?
            }
        };
        senders.push((sender.id, sender.assistant_id));
    }
    Ok((assistants, senders))
}
