//! `POST /api/v1/senders` and `GET /api/v1/senders/{id}`: WhatsApp numbers linked to an
//! assistant. The access token is write-only: no answer ever contains it.

use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use confab_domain::sender::parse_provider_sender_id;
use confab_domain::{AssistantId, PhoneNumber, Provider, Secret, Sender, SenderId, SenderStatus, ValidationError};
use confab_storage::NewSender;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

pub fn router() -> Router<AppState> {
    Router::new().route("/senders", post(create)).route("/senders/{id}", get(read))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSender {
    provider: String,
    phone_number_id: String,
    display_phone_number: String,
    access_token: String,
    assistant_id: AssistantId,
    ai_enabled: Option<bool>,
}

async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<CreateSender>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors = FieldErrors::default();
    let provider = errors.check(Provider::parse(&body.provider));
    let provider_sender_id = provider.and_then(|p| errors.check(parse_provider_sender_id(p, &body.phone_number_id)));
    let display_phone = errors.check(
        PhoneNumber::parse(&body.display_phone_number)
            .map_err(|e| ValidationError::new("display_phone_number", e.message)),
    );
    if body.access_token.trim().is_empty() {
        errors
            .push("access_token", "access_token is required (Meta: a system user token; Twilio: AccountSid:AuthToken)");
    }
    errors.finish()?;
    let (Some(provider), Some(provider_sender_id), Some(display_phone)) = (provider, provider_sender_id, display_phone)
    else {
        return Err(ApiError::BadRequest("invalid sender".into()));
    };
    // the assistant must be this workspace's own
    state.store.get_assistant(auth.workspace_id, body.assistant_id).await.map_err(|e| match e {
        confab_storage::StoreError::NotFound(_) => {
            ApiError::Validation(vec![ValidationError::new("assistant_id", "no such assistant in this workspace")])
        }
        other => other.into(),
    })?;
    let created = state
        .store
        .create_sender(NewSender {
            workspace_id: auth.workspace_id,
            provider,
            provider_sender_id,
            display_phone,
            access_token: Secret::new(body.access_token.trim()),
            assistant_id: body.assistant_id,
            ai_enabled: body.ai_enabled.unwrap_or(true),
            status: SenderStatus::Online,
        })
        .await;
    match created {
        Ok(sender) => Ok((StatusCode::CREATED, Json(sender_json(&sender)))),
        Err(err) if err.is_conflict_on("senders_provider_sender_key", "senders.provider") => Err(ApiError::Conflict {
            code: "sender_exists",
            message: "this number is already linked to a sender".into(),
        }),
        Err(err) => Err(err.into()),
    }
}

async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: SenderId = id.parse().map_err(|_| ApiError::NotFound("sender"))?;
    Ok(Json(sender_json(&state.store.get_sender(auth.workspace_id, id).await?)))
}

pub fn sender_json(s: &Sender) -> Value {
    json!({
        "id": s.id,
        "provider": s.provider.as_str(),
        "phone_number_id": s.provider_sender_id,
        "display_phone_number": s.display_phone.as_str(),
        "assistant_id": s.assistant_id,
        "ai_enabled": s.ai_enabled,
        "status": s.status.as_str(),
        "quality_rating": s.quality_rating,
        "messaging_limit": s.messaging_limit,
        "created_at": s.created_at.format(&Rfc3339).unwrap_or_default(),
    })
}
