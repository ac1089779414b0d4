//! The `e2e` scenario: "WhatsApp in → AI → WhatsApp out" under load. Signed inbound text
//! webhooks are posted open-loop at a fixed rate, each from one of many customers and carrying
//! its own number; the confab under test answers each through its LLM (the fake, which echoes
//! the text after a set latency) and sends the reply through the fake Graph API, which posts
//! `sent`, `delivered` and `read` back. Afterwards the sends the fake recorded are matched to
//! the inbound messages by the number they echo:
//!
//! - response time: from when the inbound post was *due* (open loop, so queueing is not
//!   hidden) to when the fake Graph API received the reply; overhead is that minus the LLM's
//!   latency;
//! - lost: acknowledged inbound messages no reply answered by the end of the drain time (a
//!   reply to a later message of the same customer answers the earlier ones too, as one turn
//!   answers everything pending);
//! - duplicate: replies beyond the first for the same inbound message.

use super::latency::{Latencies, LatencySummary};
use crate::fake_graph_api::RecordedSend;
use crate::meta_webhook::{messages_payload, sign, BusinessNumber, Customer};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

#[derive(Clone, Debug)]
pub struct E2eConfig {
    /// confab's base URL, e.g. `http://127.0.0.1:8080`.
    pub target: String,
    pub app_secret: String,
    pub number: BusinessNumber,
    /// Inbound messages per second.
    pub rate: f64,
    pub duration: Duration,
    /// Distinct customers writing (round robin), so each has time for its reply.
    pub customers: usize,
    /// The fake LLM's latency, subtracted to get confab's overhead.
    pub llm_latency: Duration,
    /// Posts in flight at most.
    pub connections: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct E2eReport {
    pub seconds: f64,
    pub inbound_posted: u64,
    pub inbound_acknowledged: u64,
    pub inbound_errors: u64,
    pub inbound_per_second: f64,
    pub ack_latency: LatencySummary,
    /// Replies the fake Graph API accepted that answer this run's messages.
    pub replies: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub response_time: LatencySummary,
    /// Response time minus the LLM latency.
    pub overhead: LatencySummary,
}

/// When the posts of a run were due, to match replies against afterwards.
pub struct InboundRun {
    config: E2eConfig,
    run_id: String,
    started_wall: OffsetDateTime,
    acknowledged: Vec<bool>,
    report: E2eReport,
}

/// The text of inbound message `i` of run `run_id`; the fake LLM echoes it as
/// `You said: <text>`.
fn text_of(run_id: &str, i: u64) -> String {
    format!("bench {run_id} {i}: hi, is my order on its way?")
}

/// The inbound index a reply echoes, if it is one of this run's.
fn echoed(run_id: &str, reply: &str) -> Option<u64> {
    let rest = reply.split(&format!("bench {run_id} ")).nth(1)?;
    rest.split(':').next()?.parse().ok()
}

/// Posts the inbound messages; returns when the last was answered or failed.
pub async fn post_inbound(config: E2eConfig) -> Result<InboundRun, reqwest::Error> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(config.connections).build()?;
    let run_id = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let total = (config.rate * config.duration.as_secs_f64()).round() as u64;
    let started = Instant::now();
    let started_wall = OffsetDateTime::now_utc();
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..config.connections.max(1))
        .map(|_| {
            let (client, config, next, errors, run_id) =
                (client.clone(), config.clone(), next.clone(), errors.clone(), run_id.clone());
            tokio::spawn(async move {
                let mut latencies = Latencies::default();
                let mut acked = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return (latencies, acked);
                    }
                    let due = started + Duration::from_secs_f64(i as f64 / config.rate);
                    tokio::time::sleep_until(due).await;
                    let c = i % config.customers.max(1) as u64;
                    let customer = Customer { wa_id: format!("1666{c:07}"), name: format!("Customer {c}") };
                    let item = json!({
                        "from": customer.wa_id,
                        "id": format!("wamid.e2e.{run_id}.{i}"),
                        "timestamp": OffsetDateTime::now_utc().unix_timestamp().to_string(),
                        "type": "text",
                        "text": { "body": text_of(&run_id, i) },
                    });
                    let payload = messages_payload(&config.number, &[&customer], vec![item], vec![]);
                    let signed = sign(&config.app_secret, &payload);
                    let sent = client
                        .post(format!("{}/webhooks/whatsapp", config.target))
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", signed.signature)
                        .body(signed.body)
                        .send()
                        .await;
                    match sent {
                        Ok(res) if res.status().is_success() => {
                            latencies.record(due.elapsed());
                            acked.push(i);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    let mut latencies = Latencies::default();
    let mut acknowledged = vec![false; usize::try_from(total).unwrap_or(0)];
    for worker in workers {
        if let Ok((l, acked)) = worker.await {
            latencies.merge(l);
            for i in acked {
                acknowledged[i as usize] = true;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let acked = acknowledged.iter().filter(|a| **a).count() as u64;
    let report = E2eReport {
        seconds,
        inbound_posted: total,
        inbound_acknowledged: acked,
        inbound_errors: errors.load(Ordering::Relaxed),
        inbound_per_second: acked as f64 / seconds,
        ack_latency: latencies.summary(),
        ..E2eReport::default()
    };
    Ok(InboundRun { config, run_id, started_wall, acknowledged, report })
}

impl InboundRun {
    /// Inbound messages acknowledged so far whose reply has not been seen in `sends`.
    pub fn unanswered(&self, sends: &[RecordedSend]) -> u64 {
        self.analyse(sends).lost
    }

    /// Matches the replies the fake Graph API recorded to the inbound messages.
    pub fn analyse(&self, sends: &[RecordedSend]) -> E2eReport {
        let customers = self.config.customers.max(1) as u64;
        let mut replies_to: HashMap<u64, u64> = HashMap::new();
        // per customer, the newest inbound index a reply has answered
        let mut newest_answered: HashMap<u64, u64> = HashMap::new();
        let mut response = Latencies::default();
        let mut overhead = Latencies::default();
        let mut replies = 0;
        for send in sends.iter().filter(|s| s.wamid.is_some()) {
            let Some(body) = send.body["text"]["body"].as_str() else { continue };
            let Some(i) = echoed(&self.run_id, body) else { continue };
            replies += 1;
            let count = replies_to.entry(i).or_insert(0);
            *count += 1;
            if *count == 1 {
                let due = self.started_wall + Duration::from_secs_f64(i as f64 / self.config.rate);
                let took = (send.at - due).max(time::Duration::ZERO);
                let took = Duration::from_micros(u64::try_from(took.whole_microseconds()).unwrap_or(0));
                response.record(took);
                overhead.record(took.saturating_sub(self.config.llm_latency));
            }
            let newest = newest_answered.entry(i % customers).or_insert(i);
            *newest = (*newest).max(i);
        }
        let lost = self
            .acknowledged
            .iter()
            .enumerate()
            .filter(|(i, acked)| {
                **acked && newest_answered.get(&(*i as u64 % customers)).is_none_or(|n| *n < *i as u64)
            })
            .count() as u64;
        E2eReport {
            replies,
            lost,
            duplicates: replies_to.values().map(|n| n - 1).sum(),
            response_time: response.summary(),
            overhead: overhead.summary(),
            ..self.report.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_name_the_message_they_echo() {
        let text = text_of("abc", 42);
        assert_eq!(echoed("abc", &format!("You said: {text}")), Some(42));
        assert_eq!(echoed("other", &format!("You said: {text}")), None);
    }
}
