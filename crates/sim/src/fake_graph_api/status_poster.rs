//! Status webhooks for accepted sends, posted the way Meta posts them: one signed `messages`
//! change per status, for the business number that sent the message.
//!
//! One background task posts every job in the order sends were accepted, so tests see a
//! deterministic sequence. A post that fails (the receiver is down, answers 500) is recorded
//! and not retried: the tests decide what that should mean.

use super::{AsyncFailure, Shared, StatusPost, StatusWebhook};
use crate::meta_webhook::{messages_payload, sign, status, template_pricing, BusinessNumber, SignedWebhook};
use confab_channels::whatsapp::SIGNATURE_HEADER;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// The status webhooks for one accepted send, in posting order.
pub(super) struct PostJob {
    url: String,
    wamid: String,
    posts: Vec<(String, SignedWebhook)>,
}

impl PostJob {
    /// `sent`, `delivered`, `read` one second apart (a reaction only gets `sent`; an injected
    /// asynchronous failure only `failed`), reversed and/or doubled as `webhook` says. A
    /// template's statuses carry billable pricing of its category; others free service pricing.
    pub fn new(
        webhook: &StatusWebhook,
        number: &BusinessNumber,
        wamid: &str,
        recipient_wa_id: &str,
        reaction: bool,
        template_category: Option<&str>,
        failure: Option<AsyncFailure>,
    ) -> Self {
        let now = OffsetDateTime::now_utc();
        let mut statuses: Vec<Value> = match failure {
            Some(failure) => vec![failed(wamid, recipient_wa_id, now, &failure)],
            None if reaction => vec![status(wamid, "sent", recipient_wa_id, now)],
            None => [("sent", 0), ("delivered", 1), ("read", 2)]
                .into_iter()
                .map(|(word, later)| status(wamid, word, recipient_wa_id, now + time::Duration::seconds(later)))
                .collect(),
        };
        if let Some(category) = template_category {
            for item in statuses.iter_mut().filter(|item| item.get("pricing").is_some()) {
                item["pricing"] = template_pricing(category);
            }
        }
        if webhook.reverse {
            statuses.reverse();
        }
        let copies = if webhook.duplicate { 2 } else { 1 };
        let mut posts = Vec::with_capacity(statuses.len() * copies);
        for item in statuses {
            let word = item.get("status").and_then(Value::as_str).unwrap_or_default().to_owned();
            let signed = sign(&webhook.app_secret, &messages_payload(number, &[], Vec::new(), vec![item]));
            for _ in 0..copies {
                posts.push((word.clone(), signed.clone()));
            }
        }
        Self { url: webhook.url.clone(), wamid: wamid.to_owned(), posts }
    }
}

/// A `failed` status with Meta's error object.
fn failed(wamid: &str, recipient_wa_id: &str, at: OffsetDateTime, failure: &AsyncFailure) -> Value {
    let mut item = status(wamid, "failed", recipient_wa_id, at);
    item["errors"] = json!([{
        "code": failure.code,
        "title": failure.title,
        "message": failure.title,
        "error_data": { "details": failure.title },
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }]);
    item
}

/// The task that makes the posts.
pub(super) struct StatusPoster {
    shared: Arc<Shared>,
    http: reqwest::Client,
}

impl StatusPoster {
    pub fn new(shared: Arc<Shared>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
        Ok(Self { shared, http })
    }

    /// Posts every job until the queue closes (the fake stopped).
    pub async fn run(self, mut jobs: mpsc::UnboundedReceiver<PostJob>) {
        while let Some(job) = jobs.recv().await {
            for (word, signed) in job.posts {
                let answer = self
                    .http
                    .post(&job.url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(SIGNATURE_HEADER, &signed.signature)
                    .body(signed.body)
                    .send()
                    .await;
                let (http_status, error) = match answer {
                    Ok(response) => (Some(response.status().as_u16()), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                let post = StatusPost { wamid: job.wamid.clone(), status: word, http_status, error };
                self.shared.state().status_posts.push(post);
                self.shared.posts_made.send_modify(|made| *made += 1);
            }
        }
    }
}
