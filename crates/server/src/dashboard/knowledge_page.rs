//! Settings → Knowledge (`/settings/knowledge`): the workspace's knowledge bases — create,
//! rename, delete — and one knowledge base's page (`/settings/knowledge/{id}`): its documents
//! with their ingestion state, adding a document (pasted, or a `.md`/`.txt` file the browser
//! reads into the form) and deleting one, and a search box that shows the passages a question
//! finds, as the assistant would. Ingestion is synchronous (the API's own `add_in`: a document
//! is split into passages before the answer), so a document shows its passage count at once.
//! Everyone may read; admins and owners change.

use super::display;
use super::form_errors::FormErrors;
use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::http::documents::{add_in, parse_document_id, DocumentBody};
use crate::http::knowledge_bases::{checked_name, parse_knowledge_base_id, search_in};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{KnowledgeBase, KnowledgeBaseId, Passage};
use serde::Deserialize;

pub struct KnowledgeBaseRow {
    pub id: String,
    pub name: String,
    pub documents: usize,
    pub created: String,
}

#[derive(Template)]
#[template(path = "knowledge_bases.html")]
struct KnowledgeBasesPage {
    layout: Layout,
    can_configure: bool,
    knowledge_bases: Vec<KnowledgeBaseRow>,
    new_name: String,
    errors: FormErrors,
}

async fn list_page(
    state: &AppState,
    current: &CurrentUser,
    new_name: String,
    errors: FormErrors,
) -> Result<KnowledgeBasesPage, PageError> {
    let ws = current.user.workspace_id;
    let mut knowledge_bases = Vec::new();
    for kb in state.store.list_knowledge_bases(ws).await? {
        let documents = state.store.list_documents(ws, kb.id).await?.len();
        knowledge_bases.push(KnowledgeBaseRow {
            id: kb.id.to_string(),
            documents,
            created: display::datetime(kb.created_at),
            name: kb.name,
        });
    }
    Ok(KnowledgeBasesPage {
        layout: Layout::new(state, current, "settings", "Knowledge"),
        can_configure: current.user.role.can_configure(),
        knowledge_bases,
        new_name,
        errors,
    })
}

pub async fn list(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    Ok(render(StatusCode::OK, &list_page(&state, &current, String::new(), FormErrors::default()).await?))
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /settings/knowledge`: creates one and opens it.
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Form(form): Form<NameForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let ws = current.user.workspace_id;
    let name = match checked_name(Some(form.name.clone())) {
        Ok(name) => name,
        Err(err) => {
            let page = list_page(&state, &current, form.name, FormErrors::from_api(err)?).await?;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let kb = state.store.create_knowledge_base(ws, &name).await?;
    tracing::info!(knowledge_base_id = %kb.id, user_id = %current.user.id, "knowledge base created from the dashboard");
    Ok(Redirect::to(&format!("/settings/knowledge/{}", kb.id)).into_response())
}

pub struct DocumentRow {
    pub id: String,
    pub title: String,
    pub format: &'static str,
    /// `ready`, `processing`, `pending` or `failed`.
    pub status: &'static str,
    pub chunks: i64,
    pub chars: i64,
    pub created: String,
}

pub struct PassageRow {
    pub document_title: String,
    pub heading: String,
    pub text: String,
    pub score: String,
}

/// What the add-document form holds, kept when it is refused.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DocumentForm {
    title: String,
    format: String,
    content: String,
}

#[derive(Template)]
#[template(path = "knowledge_base.html")]
struct KnowledgeBasePage {
    layout: Layout,
    can_configure: bool,
    id: String,
    name: String,
    /// The rename form's value (the name, or what was typed when refused).
    rename: String,
    documents: Vec<DocumentRow>,
    document: DocumentForm,
    /// The search box's question, and what it found (`None`: no search yet).
    query: String,
    passages: Option<Vec<PassageRow>>,
    errors: FormErrors,
}

struct KnowledgeBaseView {
    rename: Option<String>,
    document: DocumentForm,
    query: String,
    passages: Option<Vec<Passage>>,
    errors: FormErrors,
}

impl KnowledgeBaseView {
    fn plain() -> Self {
        Self {
            rename: None,
            document: DocumentForm::default(),
            query: String::new(),
            passages: None,
            errors: FormErrors::default(),
        }
    }
}

async fn kb_page(
    state: &AppState,
    current: &CurrentUser,
    kb: KnowledgeBase,
    view: KnowledgeBaseView,
) -> Result<KnowledgeBasePage, PageError> {
    let documents = state
        .store
        .list_documents(current.user.workspace_id, kb.id)
        .await?
        .into_iter()
        .map(|d| DocumentRow {
            id: d.id.to_string(),
            format: d.format.as_str(),
            status: d.status.as_str(),
            chunks: d.chunk_count,
            chars: d.content_chars,
            created: display::datetime(d.created_at),
            title: d.title,
        })
        .collect();
    let passages = view.passages.map(|found| {
        found
            .into_iter()
            .map(|p| PassageRow {
                document_title: p.document_title,
                heading: p.heading,
                text: p.text,
                score: format!("{:.3}", p.score),
            })
            .collect()
    });
    Ok(KnowledgeBasePage {
        layout: Layout::new(state, current, "settings", kb.name.clone()),
        can_configure: current.user.role.can_configure(),
        id: kb.id.to_string(),
        rename: view.rename.unwrap_or_else(|| kb.name.clone()),
        name: kb.name,
        documents,
        document: view.document,
        query: view.query,
        passages,
        errors: view.errors,
    })
}

async fn knowledge_base(state: &AppState, current: &CurrentUser, id: &str) -> Result<KnowledgeBase, PageError> {
    let id: KnowledgeBaseId = parse_knowledge_base_id(id)?;
    Ok(state.store.get_knowledge_base(current.user.workspace_id, id).await?)
}

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
}

/// `GET /settings/knowledge/{id}` (`?q=` searches it).
pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Query(params): Query<SearchParams>,
) -> Result<Response, PageError> {
    let kb = knowledge_base(&state, &current, &id).await?;
    let mut view = KnowledgeBaseView::plain();
    let mut status = StatusCode::OK;
    if let Some(q) = params.q {
        view.query = q.clone();
        match search_in(&state, current.user.workspace_id, kb.id, Some(q), None).await {
            Ok(found) => view.passages = Some(found),
            Err(err) => {
                view.errors = FormErrors::from_api(err)?;
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
    }
    Ok(render(status, &kb_page(&state, &current, kb, view).await?))
}

/// `POST /settings/knowledge/{id}`: renames it.
pub async fn rename(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<NameForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let kb = knowledge_base(&state, &current, &id).await?;
    match checked_name(Some(form.name.clone())) {
        Ok(name) => {
            state.store.rename_knowledge_base(current.user.workspace_id, kb.id, &name).await?;
            Ok(Redirect::to(&format!("/settings/knowledge/{}", kb.id)).into_response())
        }
        Err(err) => {
            let view = KnowledgeBaseView {
                rename: Some(form.name),
                errors: FormErrors::from_api(err)?,
                ..KnowledgeBaseView::plain()
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &kb_page(&state, &current, kb, view).await?))
        }
    }
}

/// `POST /settings/knowledge/{id}/delete`: deletes it with its documents.
pub async fn delete(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let kb = knowledge_base(&state, &current, &id).await?;
    state.store.delete_knowledge_base(current.user.workspace_id, kb.id).await?;
    tracing::info!(knowledge_base_id = %kb.id, user_id = %current.user.id, "knowledge base deleted from the dashboard");
    Ok(Redirect::to("/settings/knowledge").into_response())
}

/// `POST /settings/knowledge/{id}/documents`: adds a document (split into passages before the
/// answer); a refused one comes back with its fields kept and the problems next to them.
pub async fn add_document(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<DocumentForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let kb = knowledge_base(&state, &current, &id).await?;
    let body = DocumentBody {
        title: Some(form.title.clone()),
        format: Some(form.format.clone()),
        content: Some(form.content.clone()),
    };
    match add_in(&state, current.user.workspace_id, kb.id, body).await {
        Ok(document) => {
            tracing::info!(document_id = %document.id, chunks = document.chunk_count, user_id = %current.user.id, "document added from the dashboard");
            Ok(Redirect::to(&format!("/settings/knowledge/{}", kb.id)).into_response())
        }
        Err(err) => {
            let view =
                KnowledgeBaseView { document: form, errors: FormErrors::from_api(err)?, ..KnowledgeBaseView::plain() };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &kb_page(&state, &current, kb, view).await?))
        }
    }
}

/// `POST /settings/knowledge/{id}/documents/{document_id}/delete`
pub async fn delete_document(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path((id, document_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let kb = knowledge_base(&state, &current, &id).await?;
    let document_id = parse_document_id(&document_id)?;
    state.store.delete_document(current.user.workspace_id, kb.id, document_id).await?;
    Ok(Redirect::to(&format!("/settings/knowledge/{}", kb.id)).into_response())
}
