//! Live updates over server-sent events: an open conversation or list page listens to
//! `/conversations/{id}/live` or `/conversations/live?<filters>`, and gets a `changed` event when
//! what it shows changed (new messages, AI switched, ended; for the list, its first page). The
//! page then reloads just the changed part (`assets/live.js`).
//!
//! The server looks every [`CHECK_EVERY`] with one indexed read. Delivery status changes
//! (sent → delivered → read, failed) leave that read unchanged, so they come as events
//! instead ([`crate::state::AppState::deliveries`], announced by the webhooks): a page showing the
//! conversation is told at once. Each stream ends after
//! [`STREAM_LIFETIME`] and the browser reconnects on its own, so a server shutting down waits
//! at most that long for open pages.

use super::list_params::ListParams;
use super::page::PageError;
use super::session::CurrentUser;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use confab_domain::{Conversation, ConversationId, WorkspaceId};
use confab_engine::delivery_events::DeliveryChanged;
use futures_util::{Stream, StreamExt};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

pub const CHECK_EVERY: Duration = Duration::from_secs(2);
pub const STREAM_LIFETIME: Duration = Duration::from_secs(20);
/// How soon the browser reconnects after a stream ends.
const RECONNECT_AFTER: Duration = Duration::from_millis(500);

/// What a conversation page shows that can change.
fn conversation_signature(c: &Conversation) -> String {
    format!("{}:{}:{}:{}", c.message_count, c.last_message_at.unix_timestamp_nanos(), c.status.as_str(), c.ai_enabled)
}

/// `GET /conversations/{id}/live`
pub async fn conversation(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: ConversationId = id.parse().map_err(|_| PageError::NotFound("conversation"))?;
    let ws = current.user.workspace_id;
    let first = conversation_signature(&state.store.get_conversation(ws, id).await?);
    let check = move |state: AppState| async move {
        state.store.get_conversation(ws, id).await.ok().map(|c| conversation_signature(&c))
    };
    let shown = move |change: &DeliveryChanged, _: &str| change.workspace_id == ws && change.conversation_id == id;
    Ok(events(state, first, check, shown).into_response())
}

/// `GET /conversations/live?<the list's filters>`
pub async fn list(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let ws = current.user.workspace_id;
    let first = list_signature(&state, ws, &params).await.unwrap_or_default();
    let check = move |state: AppState| {
        let params = params.clone();
        async move { list_signature(&state, ws, &params).await }
    };
    // the signature names every conversation on the page
    let shown = move |change: &DeliveryChanged, signature: &str| {
        change.workspace_id == ws && signature.contains(&change.conversation_id.to_string())
    };
    Ok(events(state, first, check, shown).into_response())
}

/// The first page of the list as the page shows it, in short.
async fn list_signature(state: &AppState, ws: WorkspaceId, params: &ListParams) -> Option<String> {
    let query = params.list_query(time::OffsetDateTime::now_utc());
    let filter = query.resolve(state, ws).await.ok()??;
    let mut page = query.page().ok()?;
    page.limit = super::conversations_page::PAGE_SIZE;
    let found = state.store.list_conversations(ws, &filter, page).await.ok()?;
    Some(found.items.iter().map(|c| format!("{}/{}", c.id, conversation_signature(c))).collect::<Vec<_>>().join(","))
}

/// A stream that sends `changed` each time `check` answers something other than before, or a
/// delivery change that `shown` says the page shows arrives (given the last signature), and
/// ends after [`STREAM_LIFETIME`] or when `check` finds nothing any more.
fn events<F, Fut, S>(
    state: AppState,
    first: String,
    check: F,
    shown: S,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Option<String>> + Send,
    S: Fn(&DeliveryChanged, &str) -> bool + Send + 'static,
{
    let until = Instant::now() + STREAM_LIFETIME;
    let hello = Event::default().retry(RECONNECT_AFTER).comment("listening");
    let changed = || Event::default().event("changed").data("changed");
    let deliveries = state.deliveries.subscribe();
    let next_check = Instant::now() + CHECK_EVERY;
    let listening = (state, first, check, shown, deliveries, next_check);
    let changes = futures_util::stream::unfold(listening, move |listening| async move {
        let (state, mut last, check, shown, mut deliveries, mut next_check) = listening;
        loop {
            if next_check > until {
                return None;
            }
            tokio::select! {
                () = tokio::time::sleep_until(next_check) => {
                    next_check += CHECK_EVERY;
                    let now = check(state.clone()).await?;
                    if now != last {
                        last = now;
                        return Some((Ok(changed()), (state, last, check, shown, deliveries, next_check)));
                    }
                }
                delivery = deliveries.recv() => match delivery {
                    Ok(change) if shown(&change, &last) => {
                        return Some((Ok(changed()), (state, last, check, shown, deliveries, next_check)));
                    }
                    Ok(_) => {}
                    // some were missed: one of them may be on the page
                    Err(RecvError::Lagged(_)) => {
                        return Some((Ok(changed()), (state, last, check, shown, deliveries, next_check)));
                    }
                    // the server is shutting down
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    });
    let stream = futures_util::stream::once(async move { Ok(hello) }).chain(changes);
    Sse::new(stream).keep_alive(KeepAlive::default())
}
