//! The dashboard over plain HTTP: every page refuses a visitor without a session, logins,
//! CSRF, roles, the login rate limit, the first-run setup link, and the pages' actions.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{ConversationStatus, ConversationType, Email, PhoneNumber, Role, UserRole};
use confab_storage::NewConversation;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use support::dashboard_visitor::{add_user, login, no_redirects, session_cookie, PASSWORD};
use support::{spawn_app, spawn_app_on, Backend, TestApp};
use time::OffsetDateTime;

async fn test_conversation(app: &TestApp, identifier: &str) -> confab_domain::Conversation {
    let assistant = app
        .store
        .create_assistant(confab_storage::NewAssistant::new(app.workspace, "Helper", "You help."))
        .await
        .unwrap();
    app.store
        .create_conversation(
            NewConversation {
                workspace_id: app.workspace,
                assistant_id: assistant.id,
                kind: ConversationType::Test,
                customer_identifier: Some(identifier.into()),
                variables: serde_json::Map::new(),
                first_message: Some("Hello! How can I help?".into()),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn every_page_sends_a_visitor_without_a_session_to_login() {
    let app = spawn_app().await;
    let conversation = test_conversation(&app, "crm-1").await;
    let client = no_redirects();
    let id = conversation.id;
    for path in [
        "/".to_string(),
        "/conversations".into(),
        "/conversations?type=test".into(),
        format!("/conversations/{id}"),
        "/conversations/export?format=csv".into(),
        "/analytics".into(),
        format!("/conversations/{id}/live"),
        "/conversations/live".into(),
        "/settings".into(),
        "/settings/senders".into(),
        "/settings/api-keys".into(),
    ] {
        let response = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert!(location.starts_with("/login?next="), "{path} → {location}");
    }
    for path in [
        format!("/conversations/{id}/ai"),
        format!("/conversations/{id}/reply"),
        format!("/conversations/{id}/end"),
        "/settings/api-keys".into(),
        "/logout".into(),
    ] {
        let response = client.post(app.url(&path)).form(&[("enabled", "false"), ("text", "hi")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    }
    let forged = client
        .get(app.url("/conversations"))
        .header(COOKIE, "confab_session=0000000000000000000000000000000000000000000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::SEE_OTHER, "an unknown session token is no session");
    let htmx = client.get(app.url("/conversations")).header("hx-request", "true").send().await.unwrap();
    assert_eq!(htmx.headers()["hx-redirect"].to_str().unwrap(), "/login?next=%2Fconversations");
    assert!(app.store.get_conversation(app.workspace, id).await.unwrap().ai_enabled, "nothing changed");
    // the login page and the assets are public
    assert_eq!(client.get(app.url("/login")).send().await.unwrap().status(), StatusCode::OK);
    let htmx = client.get(app.url("/assets/htmx.min.js")).send().await.unwrap();
    assert_eq!(htmx.status(), StatusCode::OK);
    assert!(htmx.text().await.unwrap().contains("htmx"));
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_an_error_and_no_session() {
    let app = spawn_app().await;
    add_user(&app, "ana@example.com", UserRole::Agent).await;
    let client = no_redirects();
    for (email, password) in [("ana@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)] {
        let response =
            client.post(app.url("/login")).form(&[("email", email), ("password", password)]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(session_cookie(&response).is_none());
        assert!(response.text().await.unwrap().contains("The e-mail or the password is wrong."));
    }
}

#[tokio::test]
async fn a_session_cookie_is_http_only_and_lax_and_logging_out_ends_it() {
    let app = spawn_app().await;
    add_user(&app, "ana@example.com", UserRole::Agent).await;
    let client = no_redirects();
    let response = client
        .post(app.url("/login"))
        .form(&[("email", "ana@example.com"), ("password", PASSWORD), ("next", "/analytics")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[LOCATION], "/analytics", "back where the visitor was going");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http public URL: {set_cookie}");
    let visitor = login(&app, "bo@example.com", UserRole::Agent).await;
    let page = visitor.get(&app, "/").await.text().await.unwrap();
    assert!(page.contains("bo@example.com"));
    let response = visitor.post(&app, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(visitor.get(&app, "/").await.status(), StatusCode::SEE_OTHER, "the session is gone");
    // an off-site `next` is ignored
    let response = client
        .post(app.url("/login"))
        .form(&[("email", "ana@example.com"), ("password", PASSWORD), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[LOCATION], "/");
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = support::spawn_app_with(
        Backend::Sqlite,
        std::sync::Arc::new(confab_engine::offline_responder::OfflineResponder::new()),
        |s| {
            s.public_url = Some("https://confab.example.com".into());
        },
    )
    .await;
    add_user(&app, "ana@example.com", UserRole::Viewer).await;
    let response = no_redirects()
        .post(app.url("/login"))
        .form(&[("email", "ana@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(response.headers()[SET_COOKIE].to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused() {
    let app = spawn_app().await;
    let conversation = test_conversation(&app, "crm-1").await;
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let path = format!("/conversations/{}/ai", conversation.id);
    let missing = agent
        .client
        .post(app.url(&path))
        .header(COOKIE, &agent.cookie)
        .form(&[("enabled", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing.text().await.unwrap().contains("security token"));
    let wrong = agent
        .client
        .post(app.url(&path))
        .header(COOKIE, &agent.cookie)
        .form(&[("csrf", "f".repeat(64).as_str()), ("enabled", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let other = login(&app, "other@example.com", UserRole::Agent).await;
    let borrowed = agent
        .client
        .post(app.url(&path))
        .header(COOKIE, &agent.cookie)
        .form(&[("csrf", other.csrf.as_str()), ("enabled", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(borrowed.status(), StatusCode::FORBIDDEN, "another session's token does not do");
    assert!(app.store.get_conversation(app.workspace, conversation.id).await.unwrap().ai_enabled);
    let header = agent
        .client
        .post(app.url(&path))
        .header(COOKIE, &agent.cookie)
        .header("x-csrf-token", &agent.csrf)
        .form(&[("enabled", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), StatusCode::SEE_OTHER, "htmx sends the token as a header");
    assert!(!app.store.get_conversation(app.workspace, conversation.id).await.unwrap().ai_enabled);
}

#[tokio::test]
async fn a_viewer_reads_everything_and_changes_nothing() {
    let app = spawn_app().await;
    let conversation = test_conversation(&app, "crm-1").await;
    let viewer = login(&app, "viewer@example.com", UserRole::Viewer).await;
    let id = conversation.id;
    for path in [
        "/".to_string(),
        format!("/conversations/{id}"),
        "/analytics".into(),
        "/settings/senders".into(),
        "/settings/api-keys".into(),
    ] {
        assert_eq!(viewer.get(&app, &path).await.status(), StatusCode::OK, "{path}");
    }
    let page = viewer.get(&app, &format!("/conversations/{id}")).await.text().await.unwrap();
    assert!(!page.contains("id=\"send-reply\""), "no reply form for a viewer");
    for (path, fields) in [
        (format!("/conversations/{id}/ai"), vec![("enabled", "false")]),
        (format!("/conversations/{id}/reply"), vec![("text", "hello")]),
        (format!("/conversations/{id}/end"), vec![]),
    ] {
        let response = viewer.post(&app, &path, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let after = app.store.get_conversation(app.workspace, id).await.unwrap();
    assert!(after.ai_enabled);
    assert_eq!(after.status, ConversationStatus::Active);
    assert_eq!(after.message_count, conversation.message_count);
    assert_eq!(viewer.post(&app, "/logout", &[]).await.status(), StatusCode::SEE_OTHER, "a viewer may log out");
}

#[tokio::test]
async fn logins_are_rate_limited_per_address_and_email() {
    let app = spawn_app().await;
    add_user(&app, "ana@example.com", UserRole::Agent).await;
    let client = no_redirects();
    for _ in 0..10 {
        let response = client
            .post(app.url("/login"))
            .form(&[("email", "ana@example.com"), ("password", "not the password")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = client
        .post(app.url("/login"))
        .form(&[("email", "ana@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(limited.text().await.unwrap().contains("Too many sign-in attempts"));
    add_user(&app, "bo@example.com", UserRole::Agent).await;
    let other = client
        .post(app.url("/login"))
        .form(&[("email", "bo@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::SEE_OTHER, "another e-mail is not limited");
}

#[tokio::test]
async fn the_setup_link_makes_the_owner_once() {
    for backend in support::backends() {
        let app = spawn_app_on(backend).await;
        let link = confab_server::dashboard::setup::first_run_link(app.store.as_ref(), "http://confab.test/")
            .await
            .unwrap()
            .expect("no user yet, so a link");
        let token = link.strip_prefix("http://confab.test/setup?token=").unwrap().to_string();
        let client = no_redirects();
        let login_page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        assert!(login_page.contains("No user exists yet"));
        let form = client.get(app.url(&format!("/setup?token={token}"))).send().await.unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let bad = client.get(app.url("/setup?token=guess")).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::GONE);
        let fields = [
            ("token", token.as_str()),
            ("email", "owner@example.com"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ];
        let mismatch = [("password_again", "something else entirely"), fields[0], fields[1], fields[2]];
        let refused = client.post(app.url("/setup")).form(&mismatch).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let made = client.post(app.url("/setup")).form(&fields).send().await.unwrap();
        assert_eq!(made.status(), StatusCode::SEE_OTHER);
        let cookie = session_cookie(&made).expect("signed in");
        let home = client.get(app.url("/")).header(COOKIE, cookie).send().await.unwrap();
        assert_eq!(home.status(), StatusCode::OK);
        let user = app.store.user_by_email(&Email::parse("owner@example.com").unwrap()).await.unwrap().unwrap();
        assert_eq!(user.role, UserRole::Owner);
        let again = client.post(app.url("/setup")).form(&fields).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::GONE, "the token works once");
        assert_eq!(
            client.get(app.url(&format!("/setup?token={token}"))).send().await.unwrap().status(),
            StatusCode::GONE
        );
        assert!(confab_server::dashboard::setup::first_run_link(app.store.as_ref(), "http://x")
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn an_agent_lists_filters_reads_takes_over_replies_ends_and_exports() {
    let app = spawn_app().await;
    let conversation = test_conversation(&app, "crm-42").await;
    test_conversation(&app, "crm-43").await;
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;

    let list = agent.get(&app, "/conversations").await.text().await.unwrap();
    assert!(list.contains("badge-test") && list.contains("crm-42") && list.contains("crm-43"));
    assert!(list.contains("Hello! How can I help?"), "the last message's preview");
    assert!(list.contains("id=\"llm-banner\""), "no LLM configured in tests");
    let filtered = agent.get(&app, "/conversations?type=test&customer=crm-42&range=30&status=&assistant_id=").await;
    let filtered = filtered.text().await.unwrap();
    assert!(filtered.contains("crm-42") && !filtered.contains("crm-43"));
    let none = agent.get(&app, "/conversations?type=whatsapp").await.text().await.unwrap();
    assert!(none.contains("No conversation matches these filters"));
    let failed = agent.get(&app, "/conversations?failed=1").await.text().await.unwrap();
    assert!(failed.contains("No conversation matches"));
    let bad = agent.get(&app, "/conversations?range=custom&from=yesterday").await;
    assert_eq!(bad.status(), StatusCode::OK);
    assert!(bad.text().await.unwrap().contains("from must be a date"));

    let id = conversation.id;
    let detail = agent.get(&app, &format!("/conversations/{id}")).await.text().await.unwrap();
    assert!(detail.contains("Hello! How can I help?") && detail.contains("day-separator"));
    assert_eq!(
        agent.post(&app, &format!("/conversations/{id}/ai"), &[("enabled", "false")]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(!app.store.get_conversation(app.workspace, id).await.unwrap().ai_enabled);
    let reply =
        agent.post(&app, &format!("/conversations/{id}/reply"), &[("text", "A person here: happy to help.")]).await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let messages = app.store.list_messages(app.workspace, id, None, 10).await.unwrap();
    let last = messages.last().unwrap();
    assert_eq!((last.role, last.content.as_str()), (Role::Agent, "A person here: happy to help."));
    let empty = agent.post(&app, &format!("/conversations/{id}/reply"), &[("text", "   ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let export = agent.get(&app, "/conversations/export?format=csv&level=message&customer=crm-42").await;
    assert_eq!(export.status(), StatusCode::OK);
    let csv = export.text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "header, first message, agent reply: {csv}");
    assert!(csv.contains("A person here: happy to help."));
    let conversations_csv =
        agent.get(&app, "/conversations/export?format=csv&level=conversation").await.text().await.unwrap();
    assert_eq!(conversations_csv.lines().count(), 3, "header and two conversations");

    assert_eq!(agent.post(&app, &format!("/conversations/{id}/end"), &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.get_conversation(app.workspace, id).await.unwrap().status, ConversationStatus::Ended);
    let ended = agent.post(&app, &format!("/conversations/{id}/reply"), &[("text", "still there?")]).await;
    assert_eq!(ended.status(), StatusCode::CONFLICT);
    // the post-conversation extraction's result shows on the page
    let claimed = app.store.claim_extractions(OffsetDateTime::now_utc(), time::Duration::minutes(1), 10).await.unwrap();
    assert!(claimed.iter().any(|c| c.id == id), "ending from the dashboard queues the extraction");
    let mut extracted = serde_json::Map::new();
    extracted.insert("summary".into(), serde_json::json!("Asked for help; an agent answered."));
    let result = confab_storage::ExtractionResult {
        status: confab_domain::ExtractionStatus::Done,
        extracted,
        cost: confab_domain::MicroUsd::ZERO,
        tokens: 0,
    };
    app.store.finish_extraction(id, result).await.unwrap();
    let page = agent.get(&app, &format!("/conversations/{id}")).await.text().await.unwrap();
    assert!(page.contains("id=\"extracted\"") && page.contains("Asked for help; an agent answered."));

    let metrics = agent.get(&app, "/analytics?range=7").await.text().await.unwrap();
    assert!(metrics.contains("Conversations per day") && metrics.contains("<svg"));
    let other = agent.get(&app, &format!("/conversations/{}", confab_domain::ConversationId::new())).await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn outside_the_whatsapp_window_a_reply_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let sender = app.meta_sender("106540352242922").await;
    let conversation = app
        .store
        .open_whatsapp_conversation(&sender, &PhoneNumber::parse("+15551234567").unwrap(), OffsetDateTime::now_utc())
        .await
        .unwrap();
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let path = format!("/conversations/{}", conversation.id);
    let page = agent.get(&app, &path).await.text().await.unwrap();
    assert!(page.contains("badge-whatsapp") && page.contains("id=\"reply-blocked\""));
    let refused = agent.post(&app, &format!("{path}/reply"), &[("text", "Hello there")]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body = refused.text().await.unwrap();
    assert!(body.contains("id=\"action-error\"") && body.contains("template"), "the reason and what to do");
    assert!(body.contains("Hello there"), "the draft is kept");
    assert_eq!(app.store.list_messages(app.workspace, conversation.id, None, 10).await.unwrap().len(), 0);
}

#[tokio::test]
async fn an_admin_makes_and_revokes_api_keys_and_switches_a_numbers_ai() {
    let app = spawn_app().await;
    let sender = app.meta_sender("106540352242922").await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    let made = admin.post(&app, "/settings/api-keys", &[("name", "CRM sync")]).await;
    assert_eq!(made.status(), StatusCode::OK);
    let page = made.text().await.unwrap();
    let start = page.find("id=\"new-key-value\">").unwrap() + "id=\"new-key-value\">".len();
    let key = &page[start..start + page[start..].find('<').unwrap()];
    assert_eq!(app.get("/api/v1/whoami", Some(key)).await.status(), StatusCode::OK, "the shown key works");
    let listed = admin.get(&app, "/settings/api-keys").await.text().await.unwrap();
    assert!(listed.contains("CRM sync") && !listed.contains(key), "listed by name and prefix, never in full");
    let stored = app.store.list_api_keys(app.workspace).await.unwrap();
    let revoke = admin.post(&app, &format!("/settings/api-keys/{}/revoke", stored[0].id), &[]).await;
    assert_eq!(revoke.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/whoami", Some(key)).await.status(), StatusCode::UNAUTHORIZED, "revoked");

    let switched = admin.post(&app, &format!("/settings/senders/{}/ai", sender.id), &[("enabled", "false")]).await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert!(!app.store.get_sender(app.workspace, sender.id).await.unwrap().ai_enabled);
    let senders = admin.get(&app, "/settings/senders").await.text().await.unwrap();
    assert!(senders.contains("+15550783881") && senders.contains("Turn AI on"));

    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    assert_eq!(agent.get(&app, "/settings/api-keys").await.status(), StatusCode::OK, "an agent may look");
    let refused = agent.post(&app, "/settings/api-keys", &[("name", "mine")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = agent.post(&app, &format!("/settings/senders/{}/ai", sender.id), &[("enabled", "true")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.store.list_api_keys(app.workspace).await.unwrap().len(), 1);
    assert!(!app.store.get_sender(app.workspace, sender.id).await.unwrap().ai_enabled);
}

/// Reads the event stream until it says `changed`.
async fn next_change(response: &mut reqwest::Response) -> bool {
    let mut seen = String::new();
    let wait = async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: changed") {
                return true;
            }
        }
        false
    };
    tokio::time::timeout(std::time::Duration::from_secs(15), wait).await.unwrap_or(false)
}

#[tokio::test]
async fn open_pages_hear_about_changes_over_server_sent_events() {
    let app = spawn_app().await;
    let conversation = test_conversation(&app, "crm-1").await;
    let viewer = login(&app, "viewer@example.com", UserRole::Viewer).await;
    let mut detail = viewer.get(&app, &format!("/conversations/{}/live", conversation.id)).await;
    assert_eq!(detail.status(), StatusCode::OK);
    assert_eq!(detail.headers()["content-type"], "text/event-stream");
    let mut list = viewer.get(&app, "/conversations/live?type=test").await;
    assert_eq!(list.status(), StatusCode::OK);
    let parts = [confab_storage::NewMessage::text(Role::Agent, "Anything else?")];
    app.store.enqueue_outbound(app.workspace, conversation.id, &parts, OffsetDateTime::now_utc()).await.unwrap();
    assert!(next_change(&mut detail).await, "the conversation page hears of the new message");
    assert!(next_change(&mut list).await, "so does the list showing it");
    let unknown = viewer.get(&app, &format!("/conversations/{}/live", confab_domain::ConversationId::new())).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_test_chat_starts_a_test_conversation_that_the_assistant_answers() {
    let app = support::spawn_app_with(
        Backend::Sqlite,
        std::sync::Arc::new(confab_engine::offline_responder::OfflineResponder::new()),
        |_| {},
    )
    .await;
    let mut new = confab_storage::NewAssistant::new(app.workspace, "Concierge", "You help guests.");
    new.first_message = Some("Welcome! Ask me anything.".into());
    new.fallback_message = Some("A colleague will answer shortly.".into());
    let assistant = app.store.create_assistant(new).await.unwrap();
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let list = agent.get(&app, "/settings/assistants").await.text().await.unwrap();
    assert!(list.contains("Concierge") && list.contains("You help guests."));
    let started = agent.post(&app, &format!("/settings/assistants/{}/test-chat", assistant.id), &[]).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let location = started.headers()[LOCATION].to_str().unwrap().to_string();
    let page = agent.get(&app, &location).await.text().await.unwrap();
    assert!(
        page.contains("badge-test") && page.contains("Welcome! Ask me anything.") && page.contains("send-test-message")
    );
    let sent = agent.post(&app, &format!("{location}/test-message"), &[("text", "Is breakfast included?")]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER, "answered once the turn committed");
    let id: confab_domain::ConversationId = location.trim_start_matches("/conversations/").parse().unwrap();
    let messages = app.store.list_messages(app.workspace, id, None, 10).await.unwrap();
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles[..2], [Role::Assistant, Role::User]);
    assert!(messages.len() >= 3, "the assistant (offline responder) answered: {messages:?}");
    let viewer = login(&app, "viewer@example.com", UserRole::Viewer).await;
    let refused = viewer.post(&app, &format!("{location}/test-message"), &[("text", "hi")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admins_add_users_up_to_their_own_role() {
    let app = spawn_app().await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    let added = admin
        .post(&app, "/settings/users", &[("email", "new@example.com"), ("role", "agent"), ("password", PASSWORD)])
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let page = admin.get(&app, "/settings/users").await.text().await.unwrap();
    assert!(page.contains("new@example.com") && page.contains("admin@example.com"));
    let fresh = no_redirects()
        .post(app.url("/login"))
        .form(&[("email", "new@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::SEE_OTHER, "the new user signs in");
    for (email, role, password, says) in [
        ("boss@example.com", "owner", PASSWORD, "above your own"),
        ("new@example.com", "agent", PASSWORD, "already exists"),
        ("short@example.com", "agent", "short", "at least 10"),
    ] {
        let refused =
            admin.post(&app, "/settings/users", &[("email", email), ("role", role), ("password", password)]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        assert!(refused.text().await.unwrap().contains(says), "{says}");
    }
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let refused = agent
        .post(&app, "/settings/users", &[("email", "x@example.com"), ("role", "viewer"), ("password", PASSWORD)])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.store.list_users(app.workspace).await.unwrap().len(), 3);
}

#[tokio::test]
async fn admins_create_and_edit_assistants_with_the_apis_checks() {
    let app = spawn_app().await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    assert_eq!(admin.get(&app, "/settings/assistants/new").await.status(), StatusCode::OK);
    let fields = [
        ("name", "Concierge"),
        ("system_prompt", "You help hotel guests."),
        ("first_message", "Welcome!"),
        ("fallback_message", ""),
        ("provider", "openai"),
        ("model", "gpt-4o-mini"),
        ("temperature", "0.4"),
        ("tools", "transfer_to_human, end_conversation"),
        ("response_delay_ms", "1500"),
        ("inactivity_timeout_minutes", "45"),
        ("timezone", "Europe/Madrid"),
        ("extraction_schema", r#"{"fields": [{"name": "room", "type": "string", "description": "the room number"}]}"#),
    ];
    let created = admin.post(&app, "/settings/assistants", &fields).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let assistant = app.store.list_assistants(app.workspace).await.unwrap().remove(0);
    assert_eq!(assistant.name, "Concierge");
    assert_eq!(assistant.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(assistant.response_delay.as_millis(), 1500);
    assert_eq!(assistant.tools.len(), 2);
    assert_eq!(assistant.extraction_schema["fields"][0]["name"], "room");
    let form = admin.get(&app, &format!("/settings/assistants/{}/edit", assistant.id)).await.text().await.unwrap();
    assert!(form.contains("You help hotel guests.") && form.contains("Europe/Madrid"));

    let mut edited = fields;
    edited[1] = ("system_prompt", "You help hotel guests, briefly.");
    edited[2] = ("first_message", "");
    let saved = admin.post(&app, &format!("/settings/assistants/{}", assistant.id), &edited).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let after = app.store.get_assistant(app.workspace, assistant.id).await.unwrap();
    assert_eq!(after.system_prompt, "You help hotel guests, briefly.");
    assert_eq!(after.first_message, None, "an emptied field is cleared");

    let mut bad = edited;
    bad[6] = ("temperature", "hot");
    bad[7] = ("tools", "make coffee!");
    let refused = admin.post(&app, &format!("/settings/assistants/{}", assistant.id), &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("Temperature must be a number"));
    bad[6] = ("temperature", "0.4");
    let refused = admin.post(&app, &format!("/settings/assistants/{}", assistant.id), &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "the API's own tool check");
    assert!(refused.text().await.unwrap().contains("make coffee!"), "the typed value is kept");

    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    assert_eq!(agent.get(&app, "/settings/assistants/new").await.status(), StatusCode::FORBIDDEN);
    let refused = agent.post(&app, &format!("/settings/assistants/{}", assistant.id), &fields).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
