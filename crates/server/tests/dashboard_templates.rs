//! The dashboard's WhatsApp templates: the picker that replaces the reply box outside the
//! 24-hour window (agents send, viewers are refused, CSRF as everywhere), Settings → Templates
//! (admins and owners only), and changing a user's role (never leaving a workspace without owner).

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{
    ConversationType, CustomerIdentity, InboundMessage, MessageKind, PhoneNumber, Role, Sender, Template,
    TemplateCategory, TemplateName, TemplateStatus, UserRole,
};
use confab_storage::TemplateDefinition;
use reqwest::StatusCode;
use serde_json::json;
use support::dashboard_visitor::login;
use support::{spawn_app, TestApp};
use time::{Duration, OffsetDateTime};

async fn save_template(app: &TestApp, name: &str, status: TemplateStatus, body: &str) -> Template {
    let definition = TemplateDefinition {
        name: TemplateName::parse(name).unwrap(),
        language: "en_US".into(),
        category: TemplateCategory::Utility,
        status,
        components: Template::body_components(body),
        twilio_content_sid: None,
    };
    app.store.upsert_template(app.workspace, definition).await.unwrap()
}

/// A WhatsApp conversation whose customer last wrote 25 hours ago: the window is closed.
async fn closed_window_conversation(app: &TestApp) -> confab_domain::Conversation {
    let sender = app.meta_sender("106540352242922").await;
    closed_window_conversation_on(app, &sender).await
}

/// [`closed_window_conversation`] on the number `sender`.
async fn closed_window_conversation_on(app: &TestApp, sender: &Sender) -> confab_domain::Conversation {
    let written = OffsetDateTime::now_utc() - Duration::hours(25);
    let message = InboundMessage {
        workspace_id: app.workspace,
        role: Role::User,
        conversation_type: ConversationType::Whatsapp,
        assistant_id: sender.assistant_id,
        sender_id: Some(sender.id),
        conversation_id: None,
        customer: CustomerIdentity::Whatsapp {
            wa_id: Some(PhoneNumber::parse("+15551230001").unwrap()),
            business_scoped_user_id: None,
        },
        customer_name: Some("Ana".into()),
        provider_message_id: Some("wamid.yesterday".into()),
        kind: MessageKind::Text,
        content: "Where is my order?".into(),
        payload: json!({ "body": "Where is my order?" }),
        reply_to: None,
        forwarded: false,
        sent_at: written,
        response_delay: Default::default(),
        wants_reply: false,
        system_note: None,
    };
    app.store.ingest(&[message], written).await.unwrap();
    let page = app
        .store
        .list_conversations(app.workspace, &Default::default(), confab_storage::PageRequest::first(1))
        .await
        .unwrap();
    page.items[0].clone()
}

#[tokio::test]
async fn without_approved_templates_the_picker_says_where_to_add_one() {
    let app = spawn_app().await;
    let conversation = closed_window_conversation(&app).await;
    save_template(&app, "draft_only", TemplateStatus::Pending, "Not approved yet").await;
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let page = agent.get(&app, &format!("/conversations/{}", conversation.id)).await.text().await.unwrap();
    assert!(page.contains("id=\"template-picker\"") && page.contains("id=\"reply-blocked\""));
    assert!(page.contains("closed since"), "the reason says since when");
    assert!(page.contains("id=\"no-templates\"") && page.contains("href=\"/settings/templates\""));
    assert!(!page.contains("Not approved yet"), "a pending template is not offered");
    assert!(!page.contains("id=\"reply-form\""), "the reply box is replaced");
}

#[tokio::test]
async fn an_agent_sends_an_approved_template_with_its_parameters() {
    let app = spawn_app().await;
    let conversation = closed_window_conversation(&app).await;
    let template =
        save_template(&app, "order_update", TemplateStatus::Approved, "Hi {{1}}, order {{2}} has shipped.").await;
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let path = format!("/conversations/{}", conversation.id);
    let page = agent.get(&app, &path).await.text().await.unwrap();
    assert!(page.contains("Hi {{1}}, order {{2}} has shipped."), "the body is shown");
    assert_eq!(page.matches("name=\"parameter\"").count(), 2, "an input per parameter");

    let id = template.id.to_string();
    let missing = agent.post(&app, &format!("{path}/template"), &[("template_id", &id), ("parameter", "Ana")]).await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.text().await.unwrap().contains("takes 2 parameter(s)"));

    let fields = [("template_id", id.as_str()), ("parameter", "Ana"), ("parameter", "#1234")];
    let sent = agent.post(&app, &format!("{path}/template"), &fields).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let messages = app.store.list_messages(app.workspace, conversation.id, None, 10).await.unwrap();
    let last = messages.last().unwrap();
    assert_eq!((last.role, last.kind), (Role::Agent, MessageKind::Template));
    assert_eq!(last.payload["template"]["name"], "order_update");
    assert_eq!(last.payload["template"]["components"][0]["parameters"][1]["text"], "#1234");
    assert_eq!(messages.len(), 2, "the customer's message and the template");

    // a template that is no longer approved is refused with the reason
    save_template(&app, "order_update", TemplateStatus::Paused, "Hi {{1}}, order {{2}} has shipped.").await;
    let paused = agent.post(&app, &format!("{path}/template"), &fields).await;
    assert_eq!(paused.status(), StatusCode::CONFLICT);
    assert!(paused.text().await.unwrap().contains("PAUSED"));
}

#[tokio::test]
async fn on_a_twilio_number_templates_are_sent_by_their_content_sid() {
    const CONTENT_SID: &str = "HXb5b62575e6e4ff6129ad7c8efe1f983e";
    let app = spawn_app().await;
    let sender = app.twilio_sender("+14155238886", "AC0123456789abcdef0123456789abcdef:twilio-test-auth-token").await;
    let conversation = closed_window_conversation_on(&app, &sender).await;
    let meta_only = save_template(&app, "meta_only", TemplateStatus::Approved, "Only on Meta numbers").await;
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let path = format!("/conversations/{}", conversation.id);
    let page = agent.get(&app, &path).await.text().await.unwrap();
    assert!(page.contains("id=\"no-templates\"") && page.contains("Twilio Content SID"), "says what is missing");
    assert!(!page.contains("Only on Meta numbers"), "a template without a Content SID is not offered");

    let with_sid = TemplateDefinition {
        name: TemplateName::parse("order_update").unwrap(),
        language: "en_US".into(),
        category: TemplateCategory::Utility,
        status: TemplateStatus::Approved,
        components: Template::body_components("Hi {{1}}, order {{2}} has shipped."),
        twilio_content_sid: Some(CONTENT_SID.into()),
    };
    let template = app.store.upsert_template(app.workspace, with_sid).await.unwrap();
    let page = agent.get(&app, &path).await.text().await.unwrap();
    assert!(page.contains("Hi {{1}}, order {{2}} has shipped.") && !page.contains("id=\"no-templates\""));

    let refused = agent.post(&app, &format!("{path}/template"), &[("template_id", &meta_only.id.to_string())]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("no Twilio Content SID"));

    let id = template.id.to_string();
    let fields = [("template_id", id.as_str()), ("parameter", "Ana"), ("parameter", "#1234")];
    assert_eq!(agent.post(&app, &format!("{path}/template"), &fields).await.status(), StatusCode::SEE_OTHER);
    let messages = app.store.list_messages(app.workspace, conversation.id, None, 10).await.unwrap();
    let last = messages.last().unwrap();
    assert_eq!((last.role, last.kind), (Role::Agent, MessageKind::Template));
    assert_eq!(last.payload["template"]["content_sid"], CONTENT_SID);
    assert_eq!(last.payload["template"]["variables"], json!({ "1": "Ana", "2": "#1234" }));
}

#[tokio::test]
async fn viewers_and_forged_forms_cannot_send_templates() {
    let app = spawn_app().await;
    let conversation = closed_window_conversation(&app).await;
    let template = save_template(&app, "hello", TemplateStatus::Approved, "Hello!").await;
    let path = format!("/conversations/{}/template", conversation.id);
    let id = template.id.to_string();

    let viewer = login(&app, "viewer@example.com", UserRole::Viewer).await;
    let page = viewer.get(&app, &format!("/conversations/{}", conversation.id)).await.text().await.unwrap();
    assert!(page.contains("id=\"reply-blocked\"") && !page.contains("send-template"), "a viewer sees no form");
    assert_eq!(viewer.post(&app, &path, &[("template_id", &id)]).await.status(), StatusCode::FORBIDDEN);

    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let forged = agent.post_without_csrf(&app, &path, &[("template_id", &id)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let wrong = agent.post_without_csrf(&app, &path, &[("csrf", &"0".repeat(64)), ("template_id", &id)]).await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.store.list_messages(app.workspace, conversation.id, None, 10).await.unwrap().len(), 1);

    assert_eq!(agent.post(&app, &path, &[("template_id", &id)]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.list_messages(app.workspace, conversation.id, None, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn admins_add_and_delete_templates_in_settings() {
    let app = spawn_app().await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    let page = admin.get(&app, "/settings/templates").await.text().await.unwrap();
    assert!(page.contains("id=\"empty-state\"") && page.contains("id=\"add-template\""));
    assert!(page.contains("<option value=\"APPROVED\" selected>"), "approved by default");

    let bad = admin
        .post(
            &app,
            "/settings/templates",
            &[
                ("name", "Order Update"),
                ("language", "en-US"),
                ("category", "UTILITY"),
                ("status", "APPROVED"),
                ("body", "Hi {{1}}"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("id=\"error-name\"") && html.contains("id=\"error-language\""), "each field's error");
    assert!(html.contains("value=\"Order Update\""), "the form is kept");

    let bad_sid = [
        ("name", "order_update"),
        ("language", "en_US"),
        ("category", "UTILITY"),
        ("status", "APPROVED"),
        ("body", "Hi {{1}}"),
        ("twilio_content_sid", "HX123"),
    ];
    let refused = admin.post(&app, "/settings/templates", &bad_sid).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("id=\"error-twilio_content_sid\""));

    let fields = [
        ("name", "order_update"),
        ("language", "en_US"),
        ("category", "UTILITY"),
        ("status", "APPROVED"),
        ("body", "Hi {{1}}, order {{2}} shipped."),
        ("twilio_content_sid", " HXb5b62575e6e4ff6129ad7c8efe1f983e "),
    ];
    assert_eq!(admin.post(&app, "/settings/templates", &fields).await.status(), StatusCode::SEE_OTHER);
    let saved = app.store.list_templates(app.workspace, true).await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!((saved[0].name.as_str(), saved[0].body_text()), ("order_update", "Hi {{1}}, order {{2}} shipped."));
    assert_eq!(saved[0].twilio_content_sid.as_deref(), Some("HXb5b62575e6e4ff6129ad7c8efe1f983e"));
    let listed = admin.get(&app, "/settings/templates").await.text().await.unwrap();
    assert!(listed.contains("id=\"templates\"") && listed.contains("2 parameter(s)"));

    // agents and viewers read the page but change nothing
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let read = agent.get(&app, "/settings/templates").await.text().await.unwrap();
    assert!(read.contains("order_update") && !read.contains("id=\"add-template\""));
    assert_eq!(agent.post(&app, "/settings/templates", &fields).await.status(), StatusCode::FORBIDDEN);
    let delete_path = format!("/settings/templates/{}/delete", saved[0].id);
    assert_eq!(agent.post(&app, &delete_path, &[]).await.status(), StatusCode::FORBIDDEN);
    let viewer = login(&app, "viewer@example.com", UserRole::Viewer).await;
    assert_eq!(viewer.post(&app, &delete_path, &[]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(admin.post_without_csrf(&app, &delete_path, &[]).await.status(), StatusCode::FORBIDDEN);

    assert_eq!(admin.post(&app, &delete_path, &[]).await.status(), StatusCode::SEE_OTHER);
    assert!(app.store.list_templates(app.workspace, false).await.unwrap().is_empty());
    assert_eq!(admin.post(&app, &delete_path, &[]).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn owners_and_admins_change_roles_but_never_remove_the_last_owner() {
    let app = spawn_app().await;
    let owner = login(&app, "owner@example.com", UserRole::Owner).await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let users = app.store.list_users(app.workspace).await.unwrap();
    let id_of = |email: &str| users.iter().find(|u| u.email.as_str() == email).unwrap().id.to_string();
    let role_of = |email: &'static str| {
        let store = app.store.clone();
        let workspace = app.workspace;
        async move {
            store.list_users(workspace).await.unwrap().into_iter().find(|u| u.email.as_str() == email).unwrap().role
        }
    };
    let path = |email: &str| format!("/settings/users/{}/role", id_of(email));

    // agents and viewers cannot
    assert_eq!(
        agent.post(&app, &path("agent@example.com"), &[("role", "admin")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(role_of("agent@example.com").await, UserRole::Agent);
    // an admin changes roles up to their own, never an owner's
    assert_eq!(
        admin.post(&app, &path("agent@example.com"), &[("role", "viewer")]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(role_of("agent@example.com").await, UserRole::Viewer);
    assert_eq!(
        admin.post(&app, &path("agent@example.com"), &[("role", "owner")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.post(&app, &path("owner@example.com"), &[("role", "viewer")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.post_without_csrf(&app, &path("agent@example.com"), &[("role", "agent")]).await.status(),
        StatusCode::FORBIDDEN
    );
    let bad = admin.post(&app, &path("agent@example.com"), &[("role", "boss")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // the last owner cannot step down; once there is another, they can
    let refused = owner.post(&app, &path("owner@example.com"), &[("role", "admin")]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("last owner"));
    assert_eq!(
        owner.post(&app, &path("admin@example.com"), &[("role", "owner")]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        owner.post(&app, &path("owner@example.com"), &[("role", "admin")]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(role_of("owner@example.com").await, UserRole::Admin);
    let unknown = format!("/settings/users/{}/role", confab_domain::UserId::new());
    assert_eq!(admin.post(&app, &unknown, &[("role", "agent")]).await.status(), StatusCode::NOT_FOUND);
    let page = admin.get(&app, "/settings/users").await.text().await.unwrap();
    assert!(page.contains("class=\"inline role-form\""));
}
