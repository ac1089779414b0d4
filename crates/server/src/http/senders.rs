//! `/api/v1/senders`: WhatsApp numbers linked to an assistant — create, list, read, partial
//! update and delete. The access token is write-only: no answer ever contains it. Create and
//! update share one body type and one parser.

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::path_param::ApiPath;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_domain::sender::parse_provider_sender_id;
use confab_domain::{
    AssistantId, PhoneNumber, Provider, Secret, Sender, SenderId, SenderStatus, ValidationError, WorkspaceId,
};
use confab_storage::{NewSender, SenderChanges, StoreError, SENDER_IN_USE};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, update, delete))
}

/// The body of both `POST` (provider, phone_number_id, display_phone_number, access_token and
/// assistant_id required) and `PATCH` (every field optional; provider and phone_number_id are
/// what the sender is and cannot change).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SenderBody {
    /// Required on create, fixed after.
    #[schema(value_type = Option<api_schemas::WhatsappProvider>)]
    pub(crate) provider: Option<String>,
    /// Meta's phone number id, or the Twilio number; required on create, fixed after.
    pub(crate) phone_number_id: Option<String>,
    /// E.164, e.g. `+34600000000`; required on create.
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub(crate) display_phone_number: Option<String>,
    /// Write-only. Meta: a system user token; Twilio: `AccountSid:AuthToken`. Required on create.
    #[schema(pattern = r"\S")]
    pub(crate) access_token: Option<String>,
    /// Required on create.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub(crate) assistant_id: Option<AssistantId>,
    pub(crate) ai_enabled: Option<bool>,
    #[schema(value_type = Option<api_schemas::SenderStatus>)]
    pub(crate) status: Option<String>,
}

/// The body of `POST`, for the document: `SenderBody` with what a new sender needs
/// required (the handler checks that itself).
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // described only
pub(super) struct NewSenderBody {
    #[schema(value_type = api_schemas::WhatsappProvider)]
    provider: String,
    phone_number_id: String,
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    display_phone_number: String,
    #[schema(pattern = r"\S")]
    access_token: String,
    #[schema(value_type = uuid::Uuid)]
    assistant_id: AssistantId,
    #[serde(flatten)]
    rest: SenderBody,
}

impl SenderBody {
    /// Checks the changeable fields given, noting each problem in `errors`.
    fn parse_changes(&self, errors: &mut FieldErrors) -> SenderChanges {
        let display_phone = self.display_phone_number.as_deref().and_then(|raw| {
            errors.check(PhoneNumber::parse(raw).map_err(|e| ValidationError::new("display_phone_number", e.message)))
        });
        let access_token = self.access_token.as_deref().and_then(|token| {
            if token.trim().is_empty() {
                errors.push(
                    "access_token",
                    "access_token is required (Meta: a system user token; Twilio: AccountSid:AuthToken)",
                );
                None
            } else {
                Some(Secret::new(token.trim()))
            }
        });
        let status = self.status.as_deref().and_then(|raw| {
            let parsed = SenderStatus::parse(raw);
            if parsed.is_none() {
                errors.push("status", "status must be online, offline or needs_attention");
            }
            parsed
        });
        SenderChanges {
            display_phone,
            access_token,
            assistant_id: self.assistant_id,
            ai_enabled: self.ai_enabled,
            status,
        }
    }
}

/// Links a WhatsApp number to an assistant.
#[utoipa::path(post, path = "/senders", tag = "senders", request_body = NewSenderBody, responses(
    (status = 201, description = "Created", body = api_schemas::Sender),
    (status = 409, description = "`sender_exists`: the number is already linked", body = ErrorBody),
    (status = 422, description = "Invalid fields", body = ValidationErrorBody),
))]
async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<SenderBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let sender = create_sender(&state, auth.workspace_id, body).await?;
    Ok((StatusCode::CREATED, Json(sender_json(&sender))))
}

/// Checks a new sender's fields (every error at once) and creates it: `POST /senders` and the
/// dashboard's form.
pub(crate) async fn create_sender(
    state: &AppState,
    workspace_id: WorkspaceId,
    body: SenderBody,
) -> Result<Sender, ApiError> {
    let mut errors = FieldErrors::default();
    let provider = match body.provider.as_deref() {
        Some(raw) => errors.check(Provider::parse(raw)),
        None => {
            errors.push("provider", "provider is required: meta or twilio");
            None
        }
    };
    let provider_sender_id = match (provider, body.phone_number_id.as_deref()) {
        (Some(p), Some(raw)) => errors.check(parse_provider_sender_id(p, raw)),
        (_, None) => {
            errors.push("phone_number_id", "phone_number_id is required");
            None
        }
        (None, Some(_)) => None,
    };
    let changes = body.parse_changes(&mut errors);
    for (field, given) in [
        ("display_phone_number", body.display_phone_number.is_some()),
        ("access_token", body.access_token.is_some()),
        ("assistant_id", body.assistant_id.is_some()),
    ] {
        if !given {
            errors.push(field, format!("{field} is required"));
        }
    }
    errors.finish()?;
    let (Some(provider), Some(provider_sender_id), Some(display_phone), Some(access_token), Some(assistant_id)) =
        (provider, provider_sender_id, changes.display_phone, changes.access_token, changes.assistant_id)
    else {
        return Err(ApiError::BadRequest("invalid sender".into()));
    };
    let created = state
        .store
        .create_sender(NewSender {
            workspace_id,
            provider,
            provider_sender_id,
            display_phone,
            access_token,
            assistant_id,
            ai_enabled: changes.ai_enabled.unwrap_or(true),
            status: changes.status.unwrap_or(SenderStatus::Online),
        })
        .await;
    match created {
        Ok(sender) => Ok(sender),
        Err(err) if err.is_conflict_on("senders_provider_sender_key", "senders.provider") => Err(ApiError::Conflict {
            code: "sender_exists",
            message: "this number is already linked to a sender".into(),
        }),
        Err(err) => Err(no_such_assistant(err)),
    }
}

/// The workspace's senders.
#[utoipa::path(get, path = "/senders", tag = "senders",
    responses((status = 200, description = "Every sender", body = api_schemas::SenderList)))]
async fn list(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let senders = state.store.list_senders(auth.workspace_id).await?;
    Ok(Json(json!({ "items": senders.iter().map(sender_json).collect::<Vec<_>>() })))
}

/// One sender.
#[utoipa::path(get, path = "/senders/{id}", tag = "senders", params(("id" = uuid::Uuid, Path, description = "The sender's id")),
    responses(
        (status = 200, description = "The sender", body = api_schemas::Sender),
        (status = 404, description = "No such sender in this workspace", body = ErrorBody),
    ))]
async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(sender_json(&state.store.get_sender(auth.workspace_id, id).await?)))
}

/// Changes the fields given (not `provider` nor `phone_number_id`).
#[utoipa::path(patch, path = "/senders/{id}", tag = "senders", request_body = SenderBody, params(("id" = uuid::Uuid, Path, description = "The sender's id")),
    responses(
        (status = 200, description = "The updated sender", body = api_schemas::Sender),
        (status = 404, description = "No such sender in this workspace", body = ErrorBody),
        (status = 409, description = "It would duplicate an existing record", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SenderBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(sender_json(&update_sender(&state, auth.workspace_id, id, body).await?)))
}

/// Checks the fields given (every error at once) and changes them: `PATCH /senders/{id}` and
/// the dashboard's form. The provider and its number id cannot change.
pub(crate) async fn update_sender(
    state: &AppState,
    workspace_id: WorkspaceId,
    id: SenderId,
    body: SenderBody,
) -> Result<Sender, ApiError> {
    let mut errors = FieldErrors::default();
    if body.provider.is_some() {
        errors.push("provider", "provider cannot be changed: create a new sender instead");
    }
    if body.phone_number_id.is_some() {
        errors.push("phone_number_id", "phone_number_id cannot be changed: create a new sender instead");
    }
    let changes = body.parse_changes(&mut errors);
    errors.finish()?;
    state.store.update_sender(workspace_id, id, changes).await.map_err(no_such_assistant)
}

#[utoipa::path(delete, path = "/senders/{id}", tag = "senders", params(("id" = uuid::Uuid, Path, description = "The sender's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such sender in this workspace", body = ErrorBody),
        (status = 409, description = "`sender_in_use`: conversations keep it", body = ErrorBody),
    ))]
/// Deletes a sender. Refused with 409 `sender_in_use` while conversations reference the sender (see
/// [`confab_storage::ConfigStore::delete_sender`]).
async fn delete(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    match state.store.delete_sender(auth.workspace_id, id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::Conflict { constraint }) if constraint == SENDER_IN_USE => Err(ApiError::Conflict {
            code: "sender_in_use",
            message: "this sender has conversations, which keep it: turn it off instead \
                      (`ai_enabled: false` or `status: offline`) or link it to another assistant"
                .into(),
        }),
        Err(err) => Err(err.into()),
    }
}

fn parse_id(id: &str) -> Result<SenderId, ApiError> {
    super::path_param::resource_id(id, "sender")
}

/// The store's "assistant not found" is the caller's `assistant_id` naming no live assistant
/// of this workspace: a field error, not a missing resource.
fn no_such_assistant(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound("assistant") => {
            ApiError::Validation(vec![ValidationError::new("assistant_id", "no such assistant in this workspace")])
        }
        other => other.into(),
    }
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
