//! HTTP tools: the store trait both backends implement, and the row mapping they share.
//! A tool's name is unique in its workspace (conflict on [`HTTP_TOOL_NAME_TAKEN`]); every
//! method is scoped to one workspace, so another workspace's id is simply not found.

use crate::rows::RowExt;
use crate::{Result, StoreError};
use async_trait::async_trait;
use confab_domain::{
    HttpMethod, HttpTool, HttpToolDefinition, HttpToolHeaders, HttpToolId, HttpToolTimeout, ParameterSchema, ToolName,
    UrlTemplate, WorkspaceId,
};
use std::collections::BTreeMap;

/// The unique constraint on (workspace, name).
pub const HTTP_TOOL_NAME_TAKEN: &str = "http_tools_workspace_name_key";

#[async_trait]
pub trait HttpToolStore: Send + Sync {
    /// Fails with a conflict on [`HTTP_TOOL_NAME_TAKEN`] if the workspace has a tool of that name.
    async fn create_http_tool(&self, workspace_id: WorkspaceId, definition: HttpToolDefinition) -> Result<HttpTool>;
    /// The workspace's tools, by name.
    async fn list_http_tools(&self, workspace_id: WorkspaceId) -> Result<Vec<HttpTool>>;
    /// Not found also when the tool belongs to another workspace.
    async fn get_http_tool(&self, workspace_id: WorkspaceId, id: HttpToolId) -> Result<HttpTool>;
    /// Replaces the definition whole and bumps `updated_at`; a conflict as for create.
    async fn update_http_tool(
        &self,
        workspace_id: WorkspaceId,
        id: HttpToolId,
        definition: HttpToolDefinition,
    ) -> Result<HttpTool>;
    /// Hard delete. Assistants that list its name simply no longer get the tool.
    async fn delete_http_tool(&self, workspace_id: WorkspaceId, id: HttpToolId) -> Result<()>;
}

pub(crate) const HTTP_TOOL_COLUMNS: &str =
    "id, workspace_id, name, description, method, url, headers, parameters, timeout_secs, created_at, updated_at";

/// The headers as stored: a JSON object of lower-case name → value.
pub(crate) fn headers_json(headers: &HttpToolHeaders) -> serde_json::Value {
    headers.iter().map(|(name, value)| (name.to_string(), serde_json::Value::from(value.expose()))).collect()
}

pub(crate) fn http_tool(row: &impl RowExt) -> Result<HttpTool> {
    let headers: BTreeMap<String, String> = serde_json::from_value(row.json("headers")?)
        .map_err(|e| StoreError::Corrupt(format!("http tool headers: {e}")))?;
    Ok(HttpTool {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        definition: HttpToolDefinition {
            name: ToolName::parse(&row.text("name")?)?,
            description: row.text("description")?,
            method: HttpMethod::parse(&row.text("method")?)?,
            url: UrlTemplate::parse(&row.text("url")?)?,
            headers: HttpToolHeaders::parse(headers)?,
            parameters: ParameterSchema::parse(row.json("parameters")?)?,
            timeout: HttpToolTimeout::from_secs(row.int("timeout_secs")?)?,
        },
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}
