//! WhatsApp message templates: the store trait both backends implement, and the row mapping
//! they share. A template is known by (workspace, name, language), unique; saving one with a
//! known name and language replaces it ([`TemplateStore::upsert_template`]). Every method is
//! scoped to one workspace, so another workspace's id is simply not found.

use crate::rows::RowExt;
use crate::Result;
use async_trait::async_trait;
use confab_domain::{Template, TemplateCategory, TemplateId, TemplateName, TemplateStatus, WorkspaceId};

/// A template as it is saved: everything but its id.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateDefinition {
    pub name: TemplateName,
    /// e.g. `en_US`; see [`confab_domain::parse_template_language`].
    pub language: String,
    pub category: TemplateCategory,
    pub status: TemplateStatus,
    /// Meta's `components` array.
    pub components: serde_json::Value,
    /// Its SID in Twilio's Content API, for Twilio numbers.
    pub twilio_content_sid: Option<String>,
}

#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// The workspace's templates by name, then language; only the approved ones (those that
    /// can be sent) when `only_approved`.
    async fn list_templates(&self, workspace_id: WorkspaceId, only_approved: bool) -> Result<Vec<Template>>;
    /// Not found also when the template belongs to another workspace.
    async fn get_template(&self, workspace_id: WorkspaceId, id: TemplateId) -> Result<Template>;
    /// Creates the template, or replaces the one with the same name and language (keeping its id).
    async fn upsert_template(&self, workspace_id: WorkspaceId, definition: TemplateDefinition) -> Result<Template>;
    /// Hard delete.
    async fn delete_template(&self, workspace_id: WorkspaceId, id: TemplateId) -> Result<()>;
    /// Sets the status of the workspace's template of this name and language (Meta's review
    /// result); `None` when the workspace has no such template.
    async fn set_template_status(
        &self,
        workspace_id: WorkspaceId,
        name: &TemplateName,
        language: &str,
        status: TemplateStatus,
    ) -> Result<Option<Template>>;
}

pub(crate) const TEMPLATE_COLUMNS: &str =
    "id, workspace_id, name, language, category, status, components, twilio_content_sid";

pub(crate) fn template(row: &impl RowExt) -> Result<Template> {
    Ok(Template {
        id: row.uuid("id")?.into(),
        workspace_id: row.uuid("workspace_id")?.into(),
        name: TemplateName::parse(&row.text("name")?)?,
        language: row.text("language")?,
        category: TemplateCategory::parse(&row.text("category")?)?,
        status: TemplateStatus::parse(&row.text("status")?)?,
        components: row.json("components")?,
        twilio_content_sid: row.opt_text("twilio_content_sid")?,
    })
}
