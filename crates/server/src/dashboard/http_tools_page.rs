//! Settings → Tools (`/settings/tools`): the workspace's HTTP tools — list, create, edit,
//! delete — saved through the API's own checks (`http::http_tools::{create_in, update_in}`).
//! Header values are write-only, as in the API: the pages show each header's name with `***`;
//! on edit, an empty headers box keeps them, text replaces them all, and "remove all headers"
//! clears them. Everyone may read; admins and owners change.

use super::display;
use super::form_errors::FormErrors;
use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::http::http_tools::{create_in, parse_id, update_in, HttpToolBody};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{HttpTool, HttpToolId};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The methods the form offers, as the API spells them.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

pub struct ToolRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub method: &'static str,
    pub url: String,
    /// `Name: ***` for each header.
    pub headers: Vec<String>,
    pub timeout_secs: u32,
    pub updated: String,
}

fn redacted_headers(tool: &HttpTool) -> Vec<String> {
    tool.definition.headers.names().map(|name| format!("{name}: ***")).collect()
}

#[derive(Template)]
#[template(path = "http_tools.html")]
struct HttpToolsPage {
    layout: Layout,
    can_configure: bool,
    tools: Vec<ToolRow>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let tools = state
        .store
        .list_http_tools(current.user.workspace_id)
        .await?
        .into_iter()
        .map(|t| ToolRow {
            id: t.id.to_string(),
            headers: redacted_headers(&t),
            name: t.definition.name.to_string(),
            description: t.definition.description.clone(),
            method: t.definition.method.as_str(),
            url: t.definition.url.as_str().to_string(),
            timeout_secs: t.definition.timeout.as_secs(),
            updated: display::datetime(t.updated_at),
        })
        .collect();
    let page = HttpToolsPage {
        layout: Layout::new(&state, &current, "settings", "Tools"),
        can_configure: current.user.role.can_configure(),
        tools,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The form's fields as text, as the browser sends them and as the page shows them again.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ToolFields {
    name: String,
    description: String,
    method: String,
    url: String,
    /// `Name: value`, one a line; empty on edit keeps the stored headers.
    headers: String,
    /// `on` to remove every header (edit only).
    clear_headers: String,
    /// A JSON Schema object; empty for no arguments.
    parameters: String,
    timeout_secs: String,
}

impl ToolFields {
    fn of(tool: &HttpTool) -> Self {
        let d = &tool.definition;
        Self {
            name: d.name.to_string(),
            description: d.description.clone(),
            method: d.method.as_str().to_string(),
            url: d.url.as_str().to_string(),
            headers: String::new(),
            clear_headers: String::new(),
            parameters: serde_json::to_string_pretty(d.parameters.as_value()).unwrap_or_default(),
            timeout_secs: d.timeout.as_secs().to_string(),
        }
    }

    /// The API body these fields mean (else the problems, by field).
    fn body(&self) -> Result<HttpToolBody, FormErrors> {
        let mut errors = FormErrors::default();
        let headers = if self.clear_headers == "on" {
            Some(BTreeMap::new())
        } else if self.headers.trim().is_empty() {
            None
        } else {
            let mut headers = BTreeMap::new();
            for line in self.headers.lines().map(str::trim).filter(|l| !l.is_empty()) {
                match line.split_once(':') {
                    Some((name, value)) => {
                        headers.insert(name.trim().to_string(), value.trim().to_string());
                    }
                    None => errors.push("headers", "write each header as Name: value, one a line"),
                }
            }
            Some(headers)
        };
        let parameters = match self.parameters.trim() {
            "" => None,
            text => match serde_json::from_str(text) {
                Ok(value) => Some(value),
                Err(e) => {
                    errors.push("parameters", format!("the parameters are not JSON: {e}"));
                    None
                }
            },
        };
        let timeout_secs = match self.timeout_secs.trim() {
            "" => None,
            t => match t.parse() {
                Ok(secs) => Some(secs),
                Err(_) => {
                    errors.push("timeout_secs", "the timeout must be a whole number of seconds (1 to 30)");
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(HttpToolBody {
            name: Some(self.name.trim().to_string()),
            description: Some(self.description.clone()),
            method: Some(self.method.clone()),
            url: Some(self.url.trim().to_string()),
            headers,
            parameters,
            timeout_secs,
        })
    }
}

#[derive(Template)]
#[template(path = "http_tool_form.html")]
struct HttpToolFormPage {
    layout: Layout,
    action: String,
    heading: String,
    editing: bool,
    f: ToolFields,
    /// The stored headers, redacted (edit only).
    current_headers: Vec<String>,
    methods: [&'static str; 5],
    errors: FormErrors,
}

fn form_page(
    state: &AppState,
    current: &CurrentUser,
    tool: Option<&HttpTool>,
    f: ToolFields,
    errors: FormErrors,
) -> HttpToolFormPage {
    let (action, heading) = match tool {
        Some(t) => (format!("/settings/tools/{}", t.id), format!("Edit {}", t.definition.name)),
        None => ("/settings/tools".to_string(), "New HTTP tool".to_string()),
    };
    HttpToolFormPage {
        layout: Layout::new(state, current, "settings", heading.clone()),
        action,
        heading,
        editing: tool.is_some(),
        f,
        current_headers: tool.map(redacted_headers).unwrap_or_default(),
        methods: METHODS,
        errors,
    }
}

async fn tool(state: &AppState, current: &CurrentUser, id: &str) -> Result<HttpTool, PageError> {
    let id: HttpToolId = parse_id(id)?;
    Ok(state.store.get_http_tool(current.user.workspace_id, id).await?)
}

pub async fn new(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let fields = ToolFields { method: "GET".into(), timeout_secs: "10".into(), ..Default::default() };
    Ok(render(StatusCode::OK, &form_page(&state, &current, None, fields, FormErrors::default())))
}

pub async fn edit(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let tool = tool(&state, &current, &id).await?;
    Ok(render(StatusCode::OK, &form_page(&state, &current, Some(&tool), ToolFields::of(&tool), FormErrors::default())))
}

/// `POST /settings/tools`
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Form(fields): Form<ToolFields>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    save(&state, &current, None, fields).await
}

/// `POST /settings/tools/{id}`
pub async fn update(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(fields): Form<ToolFields>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let tool = tool(&state, &current, &id).await?;
    save(&state, &current, Some(tool), fields).await
}

async fn save(
    state: &AppState,
    current: &CurrentUser,
    tool: Option<HttpTool>,
    fields: ToolFields,
) -> Result<Response, PageError> {
    let ws = current.user.workspace_id;
    let saved = match fields.body() {
        Err(errors) => Err(errors),
        Ok(body) => {
            let result = match &tool {
                Some(t) => update_in(state, ws, t.id, body).await,
                None => create_in(state, ws, body).await,
            };
            match result {
                Ok(saved) => Ok(saved),
                Err(err) => Err(FormErrors::from_api(err)?),
            }
        }
    };
    match saved {
        Ok(saved) => {
            tracing::info!(http_tool_id = %saved.id, user_id = %current.user.id, "HTTP tool saved from the dashboard");
            Ok(Redirect::to("/settings/tools").into_response())
        }
        Err(errors) => {
            // what was typed comes back (headers too: they came from this browser just now)
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &form_page(state, current, tool.as_ref(), fields, errors)))
        }
    }
}

/// `POST /settings/tools/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let tool = tool(&state, &current, &id).await?;
    state.store.delete_http_tool(current.user.workspace_id, tool.id).await?;
    tracing::info!(http_tool_id = %tool.id, user_id = %current.user.id, "HTTP tool deleted from the dashboard");
    Ok(Redirect::to("/settings/tools").into_response())
}
