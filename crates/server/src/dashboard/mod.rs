//! The dashboard: server-rendered pages (askama templates in `crates/server/templates/`) with
//! htmx for interaction, and every asset embedded in the binary (DESIGN §5).
//!
//! Every page but `/login`, `/setup` and `/assets/*` sits behind [`session::require_login`]:
//! a visitor without a live session is sent to `/login`; every POST must carry the session's
//! CSRF token; a viewer's POSTs are refused (only logging out is allowed). Pages reuse the
//! API's code paths (list filters, streamed export, metrics, agent messages) rather than
//! repeating them.

mod api_keys_page;
mod assets;
mod assistant_form;
mod assistants_page;
mod chart;
mod client_ip;
mod conversation_page;
mod conversations_page;
mod csrf;
mod display;
mod form_errors;
mod form_pairs;
mod http_tools_page;
mod knowledge_page;
mod list_params;
mod live;
mod login;
mod login_throttle;
mod metrics_page;
mod page;
mod prices_page;
mod sender_form;
mod senders_page;
pub mod session;
pub mod setup;
mod template_picker;
mod templates_page;
mod users_page;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub fn router(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/", get(conversations_page::show))
        .route("/conversations", get(conversations_page::show))
        .route("/conversations/export", get(conversations_page::export))
        .route("/conversations/live", get(live::list))
        .route("/conversations/{id}/live", get(live::conversation))
        .route("/conversations/{id}", get(conversation_page::show))
        .route("/conversations/{id}/ai", post(conversation_page::set_ai))
        .route("/conversations/{id}/reply", post(conversation_page::reply))
        .route("/conversations/{id}/end", post(conversation_page::end))
        .route("/conversations/{id}/test-message", post(conversation_page::test_message))
        .route("/analytics", get(metrics_page::show))
        .route("/settings", get(|| async { axum::response::Redirect::to("/settings/assistants") }))
        .route("/settings/assistants", get(assistants_page::show).post(assistant_form::create))
        .route("/settings/assistants/new", get(assistant_form::new))
        .route("/settings/assistants/{id}", post(assistant_form::update))
        .route("/settings/assistants/{id}/edit", get(assistant_form::edit))
        .route("/settings/assistants/{id}/test-chat", post(assistants_page::test_chat))
        .route("/settings/senders", get(senders_page::show))
        .route("/settings/senders/{id}/ai", post(senders_page::set_ai))
        .route("/settings/api-keys", get(api_keys_page::show).post(api_keys_page::create))
        .route("/settings/api-keys/{id}/revoke", post(api_keys_page::revoke))
        .route("/settings/users", get(users_page::show).post(users_page::add))
        .route("/settings/knowledge", get(knowledge_page::list).post(knowledge_page::create))
        .route("/settings/knowledge/{id}", get(knowledge_page::show).post(knowledge_page::rename))
        .route("/settings/knowledge/{id}/delete", post(knowledge_page::delete))
        .route("/settings/knowledge/{id}/documents", post(knowledge_page::add_document))
        .route("/settings/knowledge/{id}/documents/{document_id}/delete", post(knowledge_page::delete_document))
        .route("/settings/tools", get(http_tools_page::list).post(http_tools_page::create))
        .route("/settings/tools/new", get(http_tools_page::new))
        .route("/settings/tools/{id}", post(http_tools_page::update))
        .route("/settings/tools/{id}/edit", get(http_tools_page::edit))
        .route("/settings/tools/{id}/delete", post(http_tools_page::delete))
        .route("/settings/prices", get(prices_page::show).post(prices_page::save))
        .route("/settings/prices/reset", post(prices_page::reset))
        .route("/conversations/{id}/template", post(template_picker::send))
        .route("/settings/templates", get(templates_page::show).post(templates_page::add))
        .route("/settings/templates/{id}/delete", post(templates_page::delete))
        .route("/settings/users/{id}/role", post(users_page::set_role))
        .route("/settings/senders/new", get(sender_form::new))
        .route("/settings/senders/{id}/edit", get(sender_form::edit))
        .route("/settings/senders/{id}", post(sender_form::update))
        .route("/settings/senders", post(sender_form::create))
        .route("/logout", post(login::logout))
        .route_layer(axum::middleware::from_fn_with_state(state, session::require_login));
    Router::new()
        .route("/login", get(login::form).post(login::submit))
        .route("/setup", get(setup::form).post(setup::submit))
        .route("/assets/{name}", get(assets::serve))
        .merge(protected)
        .layer(axum::Extension(Arc::new(login_throttle::LoginThrottle::per_minute(login::ATTEMPTS_PER_MINUTE))))
}
