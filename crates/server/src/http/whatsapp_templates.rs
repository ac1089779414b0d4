//! `/api/v1/whatsapp/templates`: the workspace's WhatsApp message templates, as approved in
//! Meta's WhatsApp Manager — list (`?approved_only=true` for the ones that can be sent), save
//! (a template with a known name and language is replaced) and delete. Meta's
//! `message_template_status_update` webhook keeps a saved template's status current; sending
//! one is `POST /api/v1/whatsapp/templates/send`. A template may also carry its SID in Twilio's
//! Content API, which is how Twilio numbers send it. [`template_definition`] is the one check
//! of a template's fields, shared with the dashboard's Settings → Templates form.

use super::api_schemas::{ErrorBody, ValidationErrorBody};
use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::path_param::ApiPath;
use super::query::ApiQuery;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_domain::{
    parameter_count, parse_template_language, parse_twilio_content_sid, Template, TemplateCategory, TemplateId,
    TemplateName, TemplateStatus,
};
use confab_storage::TemplateDefinition;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The longest body text Meta accepts.
pub const MAX_BODY_CHARS: usize = 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, save)).routes(routes!(delete))
}

/// The fields of a template as people and callers give them, before any check.
#[derive(Clone, Debug, Default)]
pub(crate) struct TemplateFields {
    pub name: String,
    pub language: String,
    pub category: String,
    /// `APPROVED` when absent.
    pub status: Option<String>,
    /// The body text, with `{{1}}`, `{{2}}`… for parameters.
    pub body: Option<String>,
    /// Meta's whole `components` array, instead of `body`.
    pub components: Option<Vec<Value>>,
    /// Its SID in Twilio's Content API (`HX…`), for Twilio numbers; blank is none.
    pub twilio_content_sid: Option<String>,
}

/// Checks every field, and answers 422 listing each one that is wrong.
pub(crate) fn template_definition(fields: TemplateFields) -> Result<TemplateDefinition, ApiError> {
    let mut errors = FieldErrors::default();
    let name = errors.check(
        TemplateName::parse(fields.name.trim()).map_err(|e| confab_domain::ValidationError::new("name", e.message)),
    );
    let language = errors.check(parse_template_language(fields.language.trim()));
    let category = errors.check(TemplateCategory::parse(&fields.category));
    let status = match fields.status.as_deref() {
        None => Some(TemplateStatus::Approved),
        Some(raw) => errors.check(TemplateStatus::parse(raw)),
    };
    let components = match (fields.body, fields.components) {
        (Some(_), Some(_)) => {
            errors.push("components", "give either body or components, not both");
            None
        }
        (None, None) => {
            errors.push("body", "body is required: the template's text, with {{1}}, {{2}}… for parameters");
            None
        }
        (Some(body), None) if body.trim().is_empty() => {
            errors.push("body", "body must not be empty");
            None
        }
        (Some(body), None) if body.chars().count() > MAX_BODY_CHARS => {
            errors.push("body", format!("body is at most {MAX_BODY_CHARS} characters"));
            None
        }
        (Some(body), None) => Some(Template::body_components(body.trim())),
        (None, Some(components)) if components.is_empty() || !components.iter().all(Value::is_object) => {
            errors.push("components", "components is Meta's components array: objects with a type");
            None
        }
        (None, Some(components)) => Some(Value::Array(components)),
    };
    let twilio_content_sid = match fields.twilio_content_sid.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(raw) => errors.check(parse_twilio_content_sid(raw)).map(Some),
    };
    errors.finish()?;
    match (name, language, category, status, components, twilio_content_sid) {
        (Some(name), Some(language), Some(category), Some(status), Some(components), Some(twilio_content_sid)) => {
            Ok(TemplateDefinition { name, language, category, status, components, twilio_content_sid })
        }
        _ => Err(ApiError::BadRequest("invalid template".into())),
    }
}

/// A template's category, as Meta names it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)] // described only
pub(super) enum TemplateCategoryName {
    Marketing,
    Utility,
    Authentication,
}

/// Where Meta's review of a template stands; only `APPROVED` ones can be sent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)] // described only
pub(super) enum TemplateStatusName {
    Approved,
    Pending,
    Rejected,
    Paused,
    Disabled,
}

/// The body of `POST /whatsapp/templates`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TemplateBody {
    /// As in WhatsApp Manager: lower-case letters, digits and underscores.
    #[schema(pattern = "^[a-z0-9_]{1,512}$")]
    name: String,
    /// A template language code such as `en_US`.
    #[schema(pattern = "^[A-Za-z_]{1,15}$")]
    language: String,
    #[schema(value_type = TemplateCategoryName)]
    category: String,
    /// `APPROVED` by default: confab records templates approved in Meta's WhatsApp Manager.
    #[schema(value_type = Option<TemplateStatusName>)]
    status: Option<String>,
    /// The body text, with `{{1}}`, `{{2}}`… for parameters (or give `components`).
    #[schema(min_length = 1, max_length = 1024, pattern = r"\S")]
    body: Option<String>,
    /// Meta's whole `components` array, instead of `body`.
    #[schema(value_type = Option<Vec<Object>>)]
    components: Option<Vec<Value>>,
    /// The same template's SID in Twilio's Content API, so Twilio numbers can send it.
    #[schema(pattern = "^HX[0-9a-fA-F]{32}$")]
    twilio_content_sid: Option<String>,
}

/// A saved template.
#[derive(Serialize, ToSchema)]
pub(crate) struct TemplateJson {
    #[schema(format = Uuid)]
    id: String,
    name: String,
    language: String,
    #[schema(value_type = TemplateCategoryName)]
    category: &'static str,
    #[schema(value_type = TemplateStatusName)]
    status: &'static str,
    /// The body component's text ("" when it has none).
    body: String,
    /// How many `{{n}}` parameters the body takes.
    parameter_count: usize,
    /// Meta's `components` array.
    #[schema(value_type = Vec<Object>)]
    components: Value,
    /// Its SID in Twilio's Content API, when Twilio numbers can send it.
    twilio_content_sid: Option<String>,
}

impl From<&Template> for TemplateJson {
    fn from(t: &Template) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.as_str().to_string(),
            language: t.language.clone(),
            category: t.category.as_str(),
            status: t.status.as_str(),
            body: t.body_text().to_string(),
            parameter_count: parameter_count(t.body_text()),
            components: t.components.clone(),
            twilio_content_sid: t.twilio_content_sid.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct TemplateList {
    items: Vec<TemplateJson>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only the templates that can be sent (status `APPROVED`).
    #[serde(default)]
    approved_only: bool,
}

/// The workspace's templates, by name and language.
#[utoipa::path(get, path = "/whatsapp/templates", tag = "whatsapp", params(ListQuery), responses(
    (status = 200, description = "The templates", body = TemplateList),
    (status = 422, description = "Invalid parameters", body = ValidationErrorBody),
))]
async fn list(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<TemplateList>, ApiError> {
    let templates = state.store.list_templates(auth.workspace_id, query.approved_only).await?;
    Ok(Json(TemplateList { items: templates.iter().map(TemplateJson::from).collect() }))
}

/// Saves a template approved in WhatsApp Manager; one with the same name and language is replaced.
#[utoipa::path(post, path = "/whatsapp/templates", tag = "whatsapp", request_body = TemplateBody, responses(
    (status = 200, description = "Saved (created, or replaced the one with this name and language)", body = TemplateJson),
    (status = 422, description = "Invalid fields", body = ValidationErrorBody),
))]
async fn save(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<TemplateBody>,
) -> Result<Json<TemplateJson>, ApiError> {
    let definition = template_definition(TemplateFields {
        name: body.name,
        language: body.language,
        category: body.category,
        status: body.status,
        body: body.body,
        components: body.components,
        twilio_content_sid: body.twilio_content_sid,
    })?;
    let template = state.store.upsert_template(auth.workspace_id, definition).await?;
    Ok(Json(TemplateJson::from(&template)))
}

/// Deletes a template (from confab only; WhatsApp Manager keeps it).
#[utoipa::path(delete, path = "/whatsapp/templates/{id}", tag = "whatsapp",
    params(("id" = uuid::Uuid, Path, description = "The template's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such template in this workspace", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id: TemplateId = super::path_param::resource_id(&id, "template")?;
    state.store.delete_template(auth.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
