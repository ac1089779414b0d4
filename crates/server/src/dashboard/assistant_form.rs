//! Settings → Assistants → new / edit (`/settings/assistants/new`, `/settings/assistants/{id}/edit`):
//! every setting the API accepts — the prompt, first and fallback messages, the named LLM
//! provider, model and temperature, the tools (built-in and the workspace's HTTP tools, as
//! checkboxes), the knowledge bases and how they are used, the fields `collect_data` asks
//! for, the bookable hours of `schedule_appointment`, what a message after the end does, the
//! response delay, the inactivity timeout, the time zone and the extraction schema. Admins and
//! owners save through the API's own checks (`http::assistants`), so the rules cannot drift;
//! each problem is shown next to its field, with what was typed kept.

use super::form_errors::FormErrors;
use super::form_pairs::FormPairs;
use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::http::assistants::{create_in, update_in, AssistantBody};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use confab_domain::availability::WEEKDAYS;
use confab_domain::tool::BUILT_IN_TOOLS;
use confab_domain::{Assistant, AssistantId, KnowledgeBaseId, Temperature};
use serde_json::{json, Map, Value};

const WEEKDAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// The form's fields as text, as the browser sends them and as the page shows them again.
#[derive(Clone, Debug, Default)]
pub struct AssistantFields {
    pub name: String,
    pub system_prompt: String,
    pub first_message: String,
    pub fallback_message: String,
    pub provider: String,
    pub model: String,
    pub temperature: String,
    /// The tool names ticked.
    pub tools: Vec<String>,
    /// The knowledge base ids ticked.
    pub knowledge_base_ids: Vec<String>,
    /// `tool` or `prompt`.
    pub knowledge_mode: String,
    /// `new_conversation` or `reopen`.
    pub after_end: String,
    /// The `collect_data` fields as JSON.
    pub data_fields: String,
    pub response_delay_ms: String,
    pub inactivity_timeout_minutes: String,
    pub timezone: String,
    pub extraction_schema: String,
    /// Whether `schedule_appointment` has bookable hours.
    pub availability: bool,
    /// The working hours per weekday (Monday first), as `09:00-13:00, 15:00-19:00`.
    pub hours: [String; 7],
    pub slot_minutes: String,
    pub horizon_days: String,
    /// The availability's own time zone (empty: the assistant's).
    pub availability_timezone: String,
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

impl AssistantFields {
    fn new_assistant() -> Self {
        Self {
            response_delay_ms: "0".into(),
            inactivity_timeout_minutes: "30".into(),
            timezone: "UTC".into(),
            knowledge_mode: "tool".into(),
            after_end: "new_conversation".into(),
            data_fields: "[]".into(),
            slot_minutes: "30".into(),
            ..Default::default()
        }
    }

    fn of(a: &Assistant) -> Self {
        let availability = a.availability.as_ref();
        let hours = std::array::from_fn(|day| {
            availability
                .map(|av| {
                    av.hours_of(day)
                        .iter()
                        .map(|&(from, to)| format!("{}-{}", hhmm(from), hhmm(to)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        });
        Self {
            name: a.name.clone(),
            system_prompt: a.system_prompt.clone(),
            first_message: a.first_message.clone().unwrap_or_default(),
            fallback_message: a.fallback_message.clone().unwrap_or_default(),
            provider: a.provider.clone().unwrap_or_default(),
            model: a.model.clone().unwrap_or_default(),
            temperature: a.temperature.map(|t| Temperature::value(t).to_string()).unwrap_or_default(),
            tools: a.tools.iter().map(ToString::to_string).collect(),
            knowledge_base_ids: a.knowledge_base_ids.iter().map(ToString::to_string).collect(),
            knowledge_mode: a.knowledge_mode.as_str().to_string(),
            after_end: a.after_end.as_str().to_string(),
            data_fields: pretty(&a.data_fields),
            response_delay_ms: a.response_delay.as_millis().to_string(),
            inactivity_timeout_minutes: a.inactivity_timeout.as_minutes().to_string(),
            timezone: a.timezone.clone(),
            extraction_schema: pretty(&a.extraction_schema),
            availability: availability.is_some(),
            hours,
            slot_minutes: availability.map_or_else(|| "30".to_string(), |av| av.slot_minutes.to_string()),
            horizon_days: availability.and_then(|av| av.horizon_days).map(|d| d.to_string()).unwrap_or_default(),
            availability_timezone: availability.and_then(|av| av.timezone.clone()).unwrap_or_default(),
        }
    }

    fn from_form(form: &FormPairs) -> Self {
        Self {
            name: form.one("name"),
            system_prompt: form.one("system_prompt"),
            first_message: form.one("first_message"),
            fallback_message: form.one("fallback_message"),
            provider: form.one("provider"),
            model: form.one("model"),
            temperature: form.one("temperature"),
            // a value may also list several names separated by commas
            tools: form
                .all("tools")
                .iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            knowledge_base_ids: form.all("knowledge_base_ids"),
            knowledge_mode: form.one("knowledge_mode"),
            after_end: form.one("after_end"),
            data_fields: form.one("data_fields"),
            response_delay_ms: form.one("response_delay_ms"),
            inactivity_timeout_minutes: form.one("inactivity_timeout_minutes"),
            timezone: form.one("timezone"),
            extraction_schema: form.one("extraction_schema"),
            availability: form.one("availability") == "on",
            hours: std::array::from_fn(|day| form.one(&format!("hours_{}", WEEKDAYS[day]))),
            slot_minutes: form.one("slot_minutes"),
            horizon_days: form.one("horizon_days"),
            availability_timezone: form.one("availability_timezone"),
        }
    }

    /// The API body these fields mean: an empty optional text clears it; the numbers, the
    /// JSON and the hours must parse (else the problems, by field). The API checks the rest.
    fn body(&self) -> Result<AssistantBody, FormErrors> {
        let mut errors = FormErrors::default();
        let optional = |v: &str| Some(Some(v.trim().to_string()).filter(|v| !v.is_empty()));
        let mut number = |field: &'static str, label: &str, v: &str| -> Option<i64> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            v.parse().map_err(|_| errors.push(field, format!("{label} must be a whole number"))).ok()
        };
        let response_delay_ms = number("response_delay_ms", "Response delay", &self.response_delay_ms);
        let inactivity_timeout_minutes =
            number("inactivity_timeout_minutes", "Inactivity timeout", &self.inactivity_timeout_minutes);
        let temperature = match self.temperature.trim() {
            "" => Some(None),
            t => match t.parse::<f64>() {
                Ok(t) => Some(Some(t)),
                Err(_) => {
                    errors.push("temperature", "Temperature must be a number such as 0.7");
                    None
                }
            },
        };
        let mut json = |field: &'static str, label: &str, text: &str, empty: Value| match text.trim() {
            "" => Some(empty),
            text => {
                serde_json::from_str(text).map_err(|e| errors.push(field, format!("{label} is not JSON: {e}"))).ok()
            }
        };
        let extraction_schema = json("extraction_schema", "The extraction schema", &self.extraction_schema, json!({}));
        let data_fields = json("data_fields", "The data fields", &self.data_fields, json!([]));
        let mut knowledge_base_ids = Vec::new();
        for id in &self.knowledge_base_ids {
            match id.parse::<KnowledgeBaseId>() {
                Ok(id) => knowledge_base_ids.push(id),
                Err(_) => errors.push("knowledge_base_ids", format!("`{id}` is not a knowledge base id")),
            }
        }
        let availability = if self.availability { self.availability_value(&mut errors).map(Some) } else { Some(None) };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AssistantBody {
            name: Some(self.name.trim().to_string()),
            system_prompt: Some(self.system_prompt.clone()),
            first_message: optional(&self.first_message),
            fallback_message: optional(&self.fallback_message),
            response_delay_ms,
            inactivity_timeout_minutes,
            timezone: Some(self.timezone.trim().to_string()).filter(|t| !t.is_empty()),
            provider: optional(&self.provider),
            model: optional(&self.model),
            temperature,
            tools: Some(self.tools.clone()),
            knowledge_base_ids: Some(knowledge_base_ids),
            extraction_schema,
            knowledge_mode: Some(self.knowledge_mode.trim().to_string()).filter(|m| !m.is_empty()),
            after_end: Some(self.after_end.trim().to_string()).filter(|m| !m.is_empty()),
            data_fields,
            availability,
        })
    }

    /// The `availability` setting as the API reads it (`{"working_hours": {"mon": [["09:00",
    /// "17:00"]]}, …}`), from the hours typed per weekday; the API checks the times themselves.
    fn availability_value(&self, errors: &mut FormErrors) -> Option<Value> {
        let mut working_hours = Map::new();
        let mut ok = true;
        for (day, text) in self.hours.iter().enumerate() {
            let mut intervals = Vec::new();
            for interval in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                match interval.split_once(['-', '–']) {
                    Some((open, close)) => intervals.push(json!([open.trim(), close.trim()])),
                    None => {
                        errors.push(
                            "availability",
                            format!("{}: write hours as 09:00-17:00, several separated by commas", WEEKDAY_NAMES[day]),
                        );
                        ok = false;
                    }
                }
            }
            if !intervals.is_empty() {
                working_hours.insert(WEEKDAYS[day].to_string(), Value::Array(intervals));
            }
        }
        let mut value = json!({ "working_hours": working_hours });
        match self.slot_minutes.trim() {
            "" => {}
            t => match t.parse::<i64>() {
                Ok(n) => value["slot_minutes"] = json!(n),
                Err(_) => {
                    errors.push("availability", "The slot length must be a whole number of minutes");
                    ok = false;
                }
            },
        }
        match self.horizon_days.trim() {
            "" => {}
            t => match t.parse::<i64>() {
                Ok(n) => value["horizon_days"] = json!(n),
                Err(_) => {
                    errors.push("availability", "How far ahead must be a whole number of days");
                    ok = false;
                }
            },
        }
        if !self.availability_timezone.trim().is_empty() {
            value["timezone"] = json!(self.availability_timezone.trim());
        }
        ok.then_some(value)
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// One tool checkbox.
pub struct ToolOption {
    pub name: String,
    /// What it is: "built in" or the HTTP tool's description.
    pub note: String,
    pub checked: bool,
}

/// One knowledge base checkbox.
pub struct KnowledgeBaseOption {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

/// One weekday's working-hours field.
pub struct DayRow {
    pub key: &'static str,
    pub label: &'static str,
    pub hours: String,
}

#[derive(Template)]
#[template(path = "assistant_form.html")]
struct AssistantFormPage {
    layout: Layout,
    /// Where the form posts: `/settings/assistants` or `/settings/assistants/{id}`.
    action: String,
    heading: String,
    f: AssistantFields,
    errors: FormErrors,
    /// The default (empty), `openai`, `anthropic` and the providers this server configures by name.
    providers: Vec<String>,
    tools: Vec<ToolOption>,
    knowledge_bases: Vec<KnowledgeBaseOption>,
    days: Vec<DayRow>,
}

async fn form_page(
    state: &AppState,
    current: &CurrentUser,
    id: Option<AssistantId>,
    f: AssistantFields,
    errors: FormErrors,
) -> Result<AssistantFormPage, PageError> {
    let ws = current.user.workspace_id;
    let (action, heading) = match id {
        Some(id) => (format!("/settings/assistants/{id}"), format!("Edit {}", f.name)),
        None => ("/settings/assistants".to_string(), "New assistant".to_string()),
    };
    let mut providers: Vec<String> = ["openai".to_string(), "anthropic".to_string()]
        .into_iter()
        .chain(state.settings.llm_providers.keys().cloned())
        .collect();
    if !f.provider.is_empty() && !providers.contains(&f.provider) {
        // a provider no longer configured stays visible, so saving shows why it is refused
        providers.push(f.provider.clone());
    }
    let http_tools = state.store.list_http_tools(ws).await?;
    let mut tools: Vec<ToolOption> = BUILT_IN_TOOLS
        .iter()
        .map(|name| ToolOption { name: name.to_string(), note: "built in".into(), checked: false })
        .chain(http_tools.iter().map(|t| ToolOption {
            name: t.definition.name.to_string(),
            note: format!("HTTP: {}", t.definition.description),
            checked: false,
        }))
        .collect();
    // a ticked name that is no tool (any more) stays visible, so saving shows why it is refused
    for name in &f.tools {
        if !tools.iter().any(|t| &t.name == name) {
            tools.push(ToolOption { name: name.clone(), note: "unknown".into(), checked: false });
        }
    }
    for tool in &mut tools {
        tool.checked = f.tools.contains(&tool.name);
    }
    let knowledge_bases = state
        .store
        .list_knowledge_bases(ws)
        .await?
        .into_iter()
        .map(|kb| {
            let id = kb.id.to_string();
            KnowledgeBaseOption { checked: f.knowledge_base_ids.contains(&id), id, name: kb.name }
        })
        .collect();
    let days = (0..7)
        .map(|day| DayRow { key: WEEKDAYS[day], label: WEEKDAY_NAMES[day], hours: f.hours[day].clone() })
        .collect();
    Ok(AssistantFormPage {
        layout: Layout::new(state, current, "settings", heading.clone()),
        action,
        heading,
        f,
        errors,
        providers,
        tools,
        knowledge_bases,
        days,
    })
}

pub async fn new(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let page = form_page(&state, &current, None, AssistantFields::new_assistant(), FormErrors::default()).await?;
    Ok(render(StatusCode::OK, &page))
}

pub async fn edit(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let id: AssistantId = id.parse().map_err(|_| PageError::NotFound("assistant"))?;
    let assistant = state.store.get_assistant(current.user.workspace_id, id).await?;
    let page = form_page(&state, &current, Some(id), AssistantFields::of(&assistant), FormErrors::default()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/assistants`
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    form: FormPairs,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    save(&state, &current, None, AssistantFields::from_form(&form)).await
}

/// `POST /settings/assistants/{id}`
pub async fn update(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    form: FormPairs,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let id: AssistantId = id.parse().map_err(|_| PageError::NotFound("assistant"))?;
    save(&state, &current, Some(id), AssistantFields::from_form(&form)).await
}

async fn save(
    state: &AppState,
    current: &CurrentUser,
    id: Option<AssistantId>,
    fields: AssistantFields,
) -> Result<Response, PageError> {
    let ws = current.user.workspace_id;
    let errors = match fields.body() {
        Err(errors) => errors,
        Ok(body) => {
            let saved = match id {
                Some(id) => update_in(state, ws, id, body).await,
                None => create_in(state, ws, body).await,
            };
            match saved {
                Ok(assistant) => {
                    tracing::info!(assistant_id = %assistant.id, user_id = %current.user.id, "assistant saved from the dashboard");
                    return Ok(Redirect::to("/settings/assistants").into_response());
                }
                Err(err) => FormErrors::from_api(err)?,
            }
        }
    };
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &form_page(state, current, id, fields, errors).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_domain::Availability;

    #[test]
    fn typed_hours_become_the_apis_availability_and_back() {
        let mut fields = AssistantFields::new_assistant();
        fields.availability = true;
        fields.hours[0] = "09:00-13:00, 15:00-19:00".into();
        fields.hours[5] = "10:00–12:00".into();
        fields.horizon_days = "60".into();
        let mut errors = FormErrors::default();
        let value = fields.availability_value(&mut errors).unwrap();
        assert!(errors.is_empty());
        let availability = Availability::parse(&value).unwrap();
        assert_eq!(availability.hours_of(0), [(540, 780), (900, 1140)]);
        assert_eq!(availability.hours_of(5), [(600, 720)]);
        assert_eq!(availability.horizon_days, Some(60));
        fields.hours[2] = "all day".into();
        assert!(fields.availability_value(&mut errors).is_none());
        assert!(errors.get("availability").unwrap().starts_with("Wednesday:"));
    }
}
