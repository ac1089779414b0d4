//! The `ingest` scenario: signed, realistic Meta webhooks (text, image, location, interactive
//! replies from many customers; a configurable share re-delivered, as Meta does) posted to
//! `/webhooks/whatsapp`, open-loop at a fixed rate or as fast as `connections` allow. It
//! measures acknowledgement latency — from when each post was *due*, so a slow server cannot
//! hide its queueing (coordinated omission) — and counts what was acknowledged.

use super::latency::{Latencies, LatencySummary};
use crate::meta_webhook::{messages_payload, sign, BusinessNumber, Customer};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// confab's base URL, e.g. `http://127.0.0.1:8080`.
    pub target: String,
    pub app_secret: String,
    pub number: BusinessNumber,
    /// Posts in flight at once.
    pub connections: usize,
    /// Posts per second; `None`: as fast as the connections allow.
    pub rate: Option<f64>,
    pub duration: Duration,
    /// Share of posts that re-deliver an earlier one (0.0–0.99).
    pub duplicate_share: f64,
    /// Messages per POST (Meta batches up to 1000 updates).
    pub messages_per_post: usize,
    /// Distinct customers writing.
    pub customers: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct IngestReport {
    pub seconds: f64,
    pub posts: u64,
    pub acknowledged_posts: u64,
    /// Messages in acknowledged posts that were new (not re-deliveries).
    pub acknowledged_unique_messages: u64,
    pub duplicate_posts: u64,
    pub errors: u64,
    pub posts_per_second: f64,
    pub messages_per_second: f64,
    pub ack_latency: LatencySummary,
}

struct Counters {
    posts: AtomicU64,
    acknowledged: AtomicU64,
    unique_messages: AtomicU64,
    duplicates: AtomicU64,
    errors: AtomicU64,
}

/// Runs the scenario and reports.
pub async fn run(config: IngestConfig) -> Result<IngestReport, reqwest::Error> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(config.connections).build()?;
    let counters = Arc::new(Counters {
        posts: AtomicU64::new(0),
        acknowledged: AtomicU64::new(0),
        unique_messages: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    let deadline = started + config.duration;
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..config.connections.max(1))
        .map(|_| {
            let (client, config, counters, next, run_id) =
                (client.clone(), config.clone(), counters.clone(), next.clone(), run_id.clone());
            tokio::spawn(async move {
                let mut latencies = Latencies::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    // open loop: post i is due at start + i / rate, whoever sends it
                    let due = match config.rate {
                        Some(rate) if rate > 0.0 => started + Duration::from_secs_f64(i as f64 / rate),
                        _ => Instant::now(),
                    };
                    if due >= deadline {
                        return latencies;
                    }
                    tokio::time::sleep_until(due).await;
                    let (payload, duplicate) = post_body(&config, &run_id, i);
                    let signed = sign(&config.app_secret, &payload);
                    counters.posts.fetch_add(1, Ordering::Relaxed);
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
                            counters.acknowledged.fetch_add(1, Ordering::Relaxed);
                            if duplicate {
                                counters.duplicates.fetch_add(1, Ordering::Relaxed);
                            } else {
                                counters.unique_messages.fetch_add(config.messages_per_post as u64, Ordering::Relaxed);
                            }
                        }
                        _ => {
                            counters.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    let mut latencies = Latencies::default();
    for worker in workers {
        if let Ok(l) = worker.await {
            latencies.merge(l);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let acknowledged = counters.acknowledged.load(Ordering::Relaxed);
    let unique = counters.unique_messages.load(Ordering::Relaxed);
    Ok(IngestReport {
        seconds,
        posts: counters.posts.load(Ordering::Relaxed),
        acknowledged_posts: acknowledged,
        acknowledged_unique_messages: unique,
        duplicate_posts: counters.duplicates.load(Ordering::Relaxed),
        errors: counters.errors.load(Ordering::Relaxed),
        posts_per_second: acknowledged as f64 / seconds,
        messages_per_second: unique as f64 / seconds,
        ack_latency: latencies.summary(),
    })
}

/// Post `i`: new messages, or — for the first `share`% of each block of 100 posts after the
/// first block — a re-delivery of the last original post before that block.
fn post_body(config: &IngestConfig, run_id: &str, i: u64) -> (Value, bool) {
    let share = (config.duplicate_share.clamp(0.0, 0.99) * 100.0).round() as u64;
    let duplicate = i >= 100 && (i % 100) < share;
    let post = if duplicate { i - (i % 100) - 1 } else { i };
    let customers: Vec<Customer> = (0..config.messages_per_post as u64)
        .map(|m| {
            let c = (post * config.messages_per_post as u64 + m) % config.customers.max(1) as u64;
            Customer { wa_id: format!("1555{c:07}"), name: format!("Customer {c}") }
        })
        .collect();
    let now = OffsetDateTime::now_utc();
    let messages = customers
        .iter()
        .enumerate()
        .map(|(m, customer)| message(customer, &format!("wamid.bench.{run_id}.{post}.{m}"), post + m as u64, now))
        .collect();
    (messages_payload(&config.number, &customers.iter().collect::<Vec<_>>(), messages, vec![]), duplicate)
}

/// A realistic mix: mostly text, some images with captions, locations and button replies.
fn message(customer: &Customer, wamid: &str, n: u64, at: OffsetDateTime) -> Value {
    let mut item = json!({ "from": customer.wa_id, "id": wamid, "timestamp": at.unix_timestamp().to_string() });
    match n % 10 {
        0 => {
            item["type"] = json!("image");
            item["image"] = json!({ "caption": "Here is the photo of the damaged parcel", "mime_type": "image/jpeg", "sha256": "mA3rK1k6nTz0gqJq0v0ek4cJbC8xQwPq1d3dKx2mR4E=", "id": format!("{n}0000000000") });
        }
        1 => {
            item["type"] = json!("location");
            item["location"] = json!({ "latitude": 40.4168, "longitude": -3.7038, "name": "Puerta del Sol", "address": "Plaza de la Puerta del Sol, Madrid" });
        }
        2 => {
            item["type"] = json!("interactive");
            item["interactive"] =
                json!({ "type": "button_reply", "button_reply": { "id": "reschedule", "title": "Reschedule" } });
            item["context"] = json!({ "from": "15550783881", "id": format!("wamid.context.{n}") });
        }
        _ => {
            item["type"] = json!("text");
            item["text"] = json!({ "body": "Hi! I ordered a pair of running shoes last week (order #48213) and the tracking page still says 'label created'. Could you check whether it has shipped and when it will arrive? Thanks — Ana" });
        }
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_deliveries_repeat_an_original_post() {
        let config = IngestConfig {
            target: String::new(),
            app_secret: String::new(),
            number: BusinessNumber { phone_number_id: "1".into(), display_phone_number: "15550000001".into() },
            connections: 1,
            rate: None,
            duration: Duration::from_secs(1),
            duplicate_share: 0.1,
            messages_per_post: 2,
            customers: 10,
        };
        let ids = |i| {
            let (body, duplicate) = post_body(&config, "r", i);
            let ids: Vec<String> = body["entry"][0]["changes"][0]["value"]["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect();
            (ids, duplicate)
        };
        let originals: std::collections::HashSet<String> =
            (0..300).map(ids).filter(|(_, d)| !d).flat_map(|(ids, _)| ids).collect();
        let duplicates: Vec<_> = (0..300).map(ids).filter(|(_, d)| *d).collect();
        assert_eq!(duplicates.len(), 20, "10% of the posts after the first hundred");
        assert!(
            duplicates.iter().all(|(ids, _)| ids.iter().all(|id| originals.contains(id))),
            "each repeats an original"
        );
        assert_eq!(originals.len(), 280 * 2);
    }
}
