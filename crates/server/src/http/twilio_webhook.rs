//! `POST /webhooks/twilio` (a customer's WhatsApp message through Twilio) and
//! `POST /webhooks/twilio/status` (status callbacks for messages we sent).
//!
//! Both check `X-Twilio-Signature` against the URL Twilio was configured with —
//! `CONFAB_PUBLIC_URL` plus the request's path and query, whatever address the request
//! actually reached (a proxy may sit in front) — under the auth token of the sender that owns
//! the number, then store through the engine in one short transaction and answer 200 with an
//! empty TwiML `<Response/>`: no LLM or network call happens on this path. The engine decides
//! from the form whether it is a message or a status, so a status callback configured on the
//! messages URL still lands. A bad signature answers 401 and stores nothing; a number no
//! sender is linked to is kept as unrouted and answered 200, like Meta's; a storage failure
//! answers 500.

use super::api_schemas::ErrorBody;
use super::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::IntoResponse;
use confab_channels::twilio::{SignatureError, EMPTY_TWIML, SIGNATURE_HEADER, TWIML_CONTENT_TYPE};
use confab_engine::twilio_inbound::{self, TwilioAcceptError, TwilioOutcome, TwilioRequest};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive)).routes(routes!(receive_status))
}

/// A customer's WhatsApp message through Twilio (or a status callback), signed with
/// `X-Twilio-Signature`.
#[utoipa::path(post, path = "/webhooks/twilio", tag = "webhooks",
    request_body(content = std::collections::BTreeMap<String, String>, content_type = "application/x-www-form-urlencoded", description = "Twilio's form (`From`, `To`, `Body`, `MessageSid`, `MessageStatus`, …)"),
    params(("X-Twilio-Signature" = Option<String>, Header, description = "Twilio's signature of the URL and form")),
    responses(
        (status = 200, description = "Stored; an empty TwiML `<Response/>`", content_type = "text/xml", body = String),
        (status = 401, description = "The signature is missing, malformed or wrong", body = ErrorBody),
        (status = 500, description = "Storing failed; Twilio retries", body = ErrorBody),
    ))]
async fn receive(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let url = signed_url(&state.settings.public_url(), &uri);
    let request = TwilioRequest {
        url: &url,
        raw_body: &body,
        signature: headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()),
    };
    let outcome =
        twilio_inbound::accept(state.store.as_ref(), request, OffsetDateTime::now_utc(), state.default_workspace)
            .await
            .map_err(|err| match err {
                TwilioAcceptError::Signature(why) => {
                    tracing::warn!(reason = %why, route = uri.path(), "Twilio webhook refused: bad signature");
                    ApiError::Unauthorized(match why {
                    SignatureError::Missing => "the X-Twilio-Signature header is missing",
                    SignatureError::Malformed => "the X-Twilio-Signature header is malformed",
                    SignatureError::Mismatch => {
                        "the X-Twilio-Signature signature does not match (is CONFAB_PUBLIC_URL the URL Twilio calls?)"
                    }
                })
                }
                TwilioAcceptError::Store(err) => {
                    ApiError::Internal(anyhow::Error::new(err).context("storing a Twilio webhook"))
                }
            })?;
    if matches!(outcome, TwilioOutcome::MessageStored { .. }) {
        // a customer message makes its conversation due: the turn worker need not wait for its next poll
        state.turn_wake.notify_one();
    }
    tracing::info!(outcome = outcome.as_str(), "Twilio webhook accepted");
    if let twilio_inbound::TwilioOutcome::StatusApplied(changed) = outcome {
        confab_engine::delivery_events::announce(&state.deliveries, &[changed]);
    }
    Ok(([(header::CONTENT_TYPE, TWIML_CONTENT_TYPE)], EMPTY_TWIML))
}

/// Status callbacks for messages confab sent; handled like [`receive`], which also takes them.
#[utoipa::path(post, path = "/webhooks/twilio/status", tag = "webhooks",
    request_body(content = std::collections::BTreeMap<String, String>, content_type = "application/x-www-form-urlencoded", description = "Twilio's form (`From`, `To`, `Body`, `MessageSid`, `MessageStatus`, …)"),
    params(("X-Twilio-Signature" = Option<String>, Header, description = "Twilio's signature of the URL and form")),
    responses(
        (status = 200, description = "Stored; an empty TwiML `<Response/>`", content_type = "text/xml", body = String),
        (status = 401, description = "The signature is missing, malformed or wrong", body = ErrorBody),
        (status = 500, description = "Storing failed; Twilio retries", body = ErrorBody),
    ))]
async fn receive_status(
    state: State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    receive(state, uri, headers, body).await
}

/// `public_url` (without a trailing `/`) followed by the request's path and query.
fn signed_url(public_url: &str, uri: &Uri) -> String {
    let path_and_query = uri.path_and_query().map_or_else(|| uri.path(), |pq| pq.as_str());
    format!("{}{path_and_query}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_url_is_the_public_url_plus_path_and_query() {
        let uri: Uri = "/webhooks/twilio?x=1&y=2".parse().expect("uri");
        assert_eq!(
            signed_url("https://confab.example.com/", &uri),
            "https://confab.example.com/webhooks/twilio?x=1&y=2"
        );
        // a path prefix stripped by a proxy is part of the public URL
        let status: Uri = "/webhooks/twilio/status".parse().expect("uri");
        assert_eq!(
            signed_url("https://example.com/confab", &status),
            "https://example.com/confab/webhooks/twilio/status"
        );
    }
}
