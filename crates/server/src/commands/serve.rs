//! `confab serve`: migrate, make the default workspace on first start, start the turn workers
//! and the outbox sender, and serve HTTP until SIGINT or SIGTERM; then finish in-flight
//! requests and stop the background work.

use crate::config::{redact_url, Settings};
use crate::http;
use crate::state::AppState;
use anyhow::Context;
use confab_assistant::{LlmProvider, PriceTable};
use confab_channels::twilio::MessagesClient;
use confab_channels::whatsapp::GraphClient;
use confab_domain::Provider;
use confab_engine::clock::SystemClock;
use confab_engine::extraction::{ExtractionWorker, Extractor, LlmExtractor, OfflineExtractor};
use confab_engine::inactivity;
use confab_engine::llm_responder::LlmResponder;
use confab_engine::meta_channel::MetaChannel;
use confab_engine::metrics_compaction;
use confab_engine::offline_responder::OfflineResponder;
use confab_engine::outbox::{Outbox, OutboxPolicy};
use confab_engine::responder::Responder;
use confab_engine::retriever::FullTextRetriever;
use confab_engine::send_pacing::SendPacing;
use confab_engine::statistics_refresh;
use confab_engine::tools::{HttpToolClient, ToolCatalog};
use confab_engine::turn_worker::{TurnPolicy, TurnWorker};
use confab_engine::twilio_channel::TwilioChannel;
use confab_storage::Store;
use std::sync::Arc;
use tokio::net::TcpListener;

/// How often conversations silent past their assistant's inactivity timeout are ended.
const INACTIVITY_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// How often ended conversations are looked for to extract (at once again while there is a backlog).
const EXTRACTION_POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// How often the metric deltas are folded into the daily rollup.
const METRICS_COMPACTION_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// How often the planner's statistics of fast-growing tables are looked at (PostgreSQL).
const STATISTICS_REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let store = super::open_store(&settings).await?;
    let workspace = store.ensure_default_workspace(&settings.default_workspace_name).await?;
    let listener = TcpListener::bind(settings.bind).await.with_context(|| {
        format!("cannot listen on {}: is another process using it? set bind / CONFAB_BIND", settings.bind)
    })?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %redact_url(&settings.database_url), backend = store.backend(), "confab is listening");
    if let Some(link) = crate::dashboard::setup::first_run_link(store.as_ref(), &settings.public_url()).await? {
        // the link is a one-time secret: shown once on standard output, never logged
        println!(
            "No dashboard user exists yet. Create the owner account (this link works once, for 24 hours):\n  {link}"
        );
    }
    if settings.llm_provider.is_none() {
        tracing::info!(
            "no LLM provider configured: assistants answer with the offline responder (set CONFAB_LLM_PROVIDER)"
        );
    }
    let graph = GraphClient::new(
        &settings.whatsapp_graph_url,
        &settings.whatsapp_graph_version,
        std::time::Duration::from_secs(20),
    )
    .context("cannot build the WhatsApp Graph API client")?;
    let meta = Arc::new(MetaChannel::new(graph));
    let twilio = MessagesClient::new(&settings.twilio_api_url, std::time::Duration::from_secs(20))
        .context("cannot build the Twilio Messages API client")?;
    let twilio_callbacks = format!("{}/webhooks/twilio/status", settings.public_url().trim_end_matches('/'));
    let outbox =
        Outbox::new(store.clone(), SendPacing::per_second(settings.whatsapp_sends_per_second), OutboxPolicy::default())
            .with_channel(Provider::Meta, meta.clone())
            .with_channel(Provider::Twilio, Arc::new(TwilioChannel::new(twilio, Some(twilio_callbacks))));
    let outbox_wake = outbox.waker();
    let (responder, extractor) = responder(&settings, store.clone())?;
    let owner = format!("confab-{}-{}", std::process::id(), uuid::Uuid::now_v7().simple());
    let (turn_committed, _) = tokio::sync::broadcast::channel(1024);
    let turns = Arc::new(
        TurnWorker::new(
            store.clone(),
            responder,
            Arc::new(SystemClock),
            owner,
            TurnPolicy::default(),
            outbox_wake.clone(),
        )
        .with_outbox_handoff(outbox.handoff())
        .with_read_receipts(meta)
        .with_commit_events(turn_committed.clone()),
    );
    let turn_wake = turns.waker();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let background = [
        tokio::spawn(outbox.run(until_stopped(stopped.clone()))),
        tokio::spawn(turns.run(settings.turn_concurrency, until_stopped(stopped.clone()))),
        tokio::spawn(inactivity::run(store.clone(), INACTIVITY_SWEEP_EVERY, until_stopped(stopped.clone()))),
        tokio::spawn(metrics_compaction::run(store.clone(), METRICS_COMPACTION_EVERY, until_stopped(stopped.clone()))),
        tokio::spawn(statistics_refresh::run(store.clone(), STATISTICS_REFRESH_EVERY, until_stopped(stopped.clone()))),
        tokio::spawn(
            ExtractionWorker::new(store.clone(), extractor).run(EXTRACTION_POLL_EVERY, until_stopped(stopped)),
        ),
    ];

    let state =
        AppState { outbox_wake, turn_wake, turn_committed, ..AppState::new(store, Arc::new(settings), workspace.id) };
    http::launch(state, listener, shutdown_signal()).await?;
    let _ = stop.send(true);
    for task in background {
        let _ = task.await;
    }
    tracing::info!("confab stopped");
    Ok(())
}

/// What answers turns and what reads ended conversations: the configured LLM
/// (`llm_provider`, `llm_base_url`, `llm_api_key`, `llm_model`, and `llm_providers`), or the
/// offline responder and extractor when none is configured.
fn responder(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<(Arc<dyn Responder>, Arc<dyn Extractor>)> {
    let Some(provider) = &settings.llm_provider else {
        // answers from the assistants' knowledge bases, or hands over
        let responder = OfflineResponder::with_retriever(Arc::new(FullTextRetriever::new(store)));
        return Ok((Arc::new(responder), Arc::new(OfflineExtractor)));
    };
    let provider = LlmProvider::parse(provider).context("invalid llm_provider")?;
    let model = settings
        .llm_model
        .clone()
        .context("llm_provider is set but llm_model is not: set CONFAB_LLM_MODEL (e.g. gpt-4o-mini)")?;
    let client = confab_assistant::connect(provider, settings.llm_base_url.as_deref(), settings.llm_api_key.clone())
        .context("cannot set up the LLM client: check CONFAB_LLM_BASE_URL and CONFAB_LLM_API_KEY")?;
    tracing::info!(provider = client.provider(), model = %model, "assistants answer with an LLM");
    let http_tools = HttpToolClient::new(settings.http_tool_policy()?).map_err(|e| anyhow::anyhow!(e))?;
    let tools = ToolCatalog::with_store(store).with_http_tools(Arc::new(http_tools));
    let mut responder = LlmResponder::new(client, model, PriceTable::default()).with_tools(tools);
    for (name, named) in &settings.llm_providers {
        let kind = LlmProvider::parse(&named.kind).with_context(|| format!("invalid llm_providers.{name}.kind"))?;
        let client = confab_assistant::connect(kind, named.base_url.as_deref(), named.api_key.clone())
            .with_context(|| format!("cannot set up the LLM provider {name}: check llm_providers.{name}"))?;
        tracing::info!(provider = %name, kind = client.provider(), "assistants may name an extra LLM provider");
        responder = responder.with_named_provider(name.clone(), client, named.model.clone());
    }
    let extractor = LlmExtractor::new(responder.routes(), PriceTable::default());
    Ok((Arc::new(responder), Arc::new(extractor)))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
