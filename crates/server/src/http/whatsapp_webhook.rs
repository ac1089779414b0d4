//! `GET /webhooks/whatsapp` (Meta's verification handshake) and `POST /webhooks/whatsapp`
//! (signed webhook bodies). The POST checks `X-Hub-Signature-256` over the raw bytes, stores
//! everything through the engine in short transactions, and answers 200 — no LLM or network
//! call happens on this path. A storage failure answers 500 so Meta retries; retries are
//! idempotent.

use super::api_schemas::{ErrorBody, ValidationErrorBody};
use super::query::ApiQuery;
use super::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use confab_channels::whatsapp::{
    verify_handshake, verify_signature, HandshakeError, HandshakeQuery, SignatureError, SIGNATURE_HEADER,
};
use confab_engine::whatsapp_inbound::{self, InboundPolicy};
use time::{Duration, OffsetDateTime};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handshake, receive))
}

/// Meta's verification handshake: echoes `hub.challenge` when `hub.verify_token` matches.
#[utoipa::path(get, path = "/webhooks/whatsapp", tag = "webhooks",
    params(
        ("hub.mode" = Option<String>, Query, description = "`subscribe`"),
        ("hub.verify_token" = Option<String>, Query, description = "CONFAB_WHATSAPP_VERIFY_TOKEN"),
        ("hub.challenge" = Option<String>, Query, description = "Echoed back"),
    ),
    responses(
        (status = 200, description = "The challenge", content_type = "text/plain", body = String),
        (status = 422, description = "The query cannot be read", body = ValidationErrorBody),
        (status = 403, description = "The token or mode does not match, or none is configured", body = ErrorBody),
    ))]

async fn handshake(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HandshakeQuery>,
) -> Result<String, ApiError> {
    let expected = state.settings.whatsapp_verify_token.as_ref().map(|t| t.expose());
    verify_handshake(&query, expected).map_err(|err| {
        tracing::warn!(reason = %err, "WhatsApp webhook handshake refused");
        match err {
            HandshakeError::NotConfigured => {
                ApiError::Forbidden("set CONFAB_WHATSAPP_VERIFY_TOKEN to answer Meta's handshake")
            }
            _ => ApiError::Forbidden("the verify token or mode does not match"),
        }
    })
}

/// A webhook body signed by Meta (`X-Hub-Signature-256`).
#[utoipa::path(post, path = "/webhooks/whatsapp", tag = "webhooks",
    request_body(content = Object, description = "Meta's webhook payload"),
    params(("X-Hub-Signature-256" = Option<String>, Header, description = "`sha256=` HMAC of the body")),
    responses(
        (status = 200, description = "Stored"),
        (status = 400, description = "The body cannot be read", body = ErrorBody),
        (status = 401, description = "The signature is missing, malformed or wrong", body = ErrorBody),
        (status = 403, description = "No app secret is configured", body = ErrorBody),
        (status = 500, description = "Storing failed; Meta retries", body = ErrorBody),
    ))]
async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<StatusCode, ApiError> {
    let Some(secret) = state.settings.whatsapp_app_secret.as_ref().filter(|s| !s.is_empty()) else {
        tracing::warn!("WhatsApp webhook refused: CONFAB_WHATSAPP_APP_SECRET is not set");
        return Err(ApiError::Forbidden("webhooks are refused until CONFAB_WHATSAPP_APP_SECRET is set"));
    };
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    verify_signature(secret.expose().as_bytes(), &body, header).map_err(|err| {
        tracing::warn!(reason = %err, "WhatsApp webhook refused: bad signature");
        match err {
            SignatureError::Missing => ApiError::Unauthorized("the X-Hub-Signature-256 header is missing"),
            SignatureError::Malformed => ApiError::Unauthorized("the X-Hub-Signature-256 header is malformed"),
            SignatureError::Mismatch => {
                ApiError::Unauthorized("the X-Hub-Signature-256 signature does not match the body")
            }
        }
    })?;
    let policy = InboundPolicy {
        stale_after: Duration::seconds(i64::try_from(state.settings.whatsapp_stale_after_secs).unwrap_or(i64::MAX)),
        default_workspace: state.default_workspace,
    };
    let summary = whatsapp_inbound::accept(
        state.store.as_ref(),
        state.ingest.as_ref(),
        &state.status_writes,
        &body,
        OffsetDateTime::now_utc(),
        policy,
    )
    .await
    .map_err(|err| ApiError::Internal(anyhow::Error::new(err).context("storing a WhatsApp webhook")))?;
    if summary.messages_stored > 0 {
        // a customer message makes its conversation due: the turn worker need not wait for its next poll
        state.turn_wake.notify_one();
    }
    tracing::info!(
        stored = summary.messages_stored,
        duplicates = summary.messages_duplicate,
        stale = summary.stale,
        statuses = summary.statuses_applied,
        status_duplicates = summary.statuses_duplicate,
        events = summary.events_kept,
        templates_updated = summary.templates_updated,
        unrouted = summary.unrouted,
        dead_letters = summary.dead_letters,
        "WhatsApp webhook accepted"
    );
    confab_engine::delivery_events::announce(&state.deliveries, &summary.deliveries_changed);
    Ok(StatusCode::OK)
}
