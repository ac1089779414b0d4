//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven
//! over W3C WebDriver): log in, filter the list, open a conversation, turn AI off, reply as an
//! agent, download an export and check its rows, open the metrics, and send an approved
//! template where the WhatsApp window has closed; and, as an admin, build a knowledge base from
//! a Markdown file and search it, add an HTTP tool, see the prices and the assistant form. A
//! screenshot of each page is saved under `$CARGO_TARGET_DIR/screenshots` (or
//! `target/screenshots`).
//!
//! Without chromedriver the test fails under `CI=true` and otherwise says why it skipped.

#![allow(clippy::unwrap_used)]

mod support;
mod webdriver;

use confab_domain::{
    ConversationType, CustomerIdentity, Email, InboundMessage, MessageKind, PhoneNumber, Role, Template,
    TemplateCategory, TemplateName, TemplateStatus, UserRole,
};
use confab_storage::{NewConversation, NewUser, TemplateDefinition};
use serde_json::json;
use std::path::PathBuf;
use support::spawn_app;
use time::OffsetDateTime;

const PASSWORD: &str = "correct horse battery";

fn screenshots_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("screenshots"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"),
    }
}

fn chromedriver_available() -> bool {
    if std::path::Path::new(webdriver::CHROMEDRIVER).exists() && std::path::Path::new(webdriver::CHROMIUM).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI=true requires {} and {} (apt-get install chromium chromium-driver; .ci/run does it)",
        webdriver::CHROMEDRIVER,
        webdriver::CHROMIUM
    );
    eprintln!("skipping the browser test: install chromium and chromium-driver to run it");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_through_the_dashboard_in_chromium() {
    if !chromedriver_available() {
        return;
    }
    let app = spawn_app().await;
    let sender = app.meta_sender("106540352242922").await;
    app.store
        .create_user(NewUser {
            workspace_id: app.workspace,
            email: Email::parse("agent@example.com").unwrap(),
            role: UserRole::Agent,
            password_hash: confab_server::passwords::hash(PASSWORD).unwrap(),
        })
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let inbound_from_ana = |wamid: &str, text: &str| InboundMessage {
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
        provider_message_id: Some(wamid.into()),
        kind: MessageKind::Text,
        content: text.into(),
        payload: json!({ "body": text }),
        reply_to: None,
        forwarded: false,
        sent_at: now,
        response_delay: Default::default(),
        wants_reply: false,
        system_note: None,
    };
    app.store.ingest(&[inbound_from_ana("wamid.browser-1", "Do you deliver on Sundays?")], now).await.unwrap();
    app.store
        .create_conversation(
            NewConversation {
                workspace_id: app.workspace,
                assistant_id: sender.assistant_id,
                kind: ConversationType::Test,
                customer_identifier: Some("crm-43".into()),
                variables: serde_json::Map::new(),
                first_message: Some("Hi, this is a test run.".into()),
            },
            now,
        )
        .await
        .unwrap();

    let driver = webdriver::Driver::start().await;
    let browser = driver.session().await;
    let shots = screenshots_dir();

    // a visitor is sent to the login page, and back to the list after signing in
    browser.goto(&app.url("/conversations")).await;
    let email = browser.wait_for("input[name=email]").await;
    browser.screenshot(&shots, "01-login").await;
    browser.type_into(&email, "agent@example.com").await;
    browser.type_into(&browser.wait_for("input[name=password]").await, PASSWORD).await;
    browser.click(&browser.wait_for("#login-form button[type=submit]").await).await;
    browser.wait_for("table#conversations").await;
    browser.wait_until("both conversations", |html| html.contains("Ana") && html.contains("crm-43")).await;
    assert!(browser.find_all(".badge-whatsapp").await.len() == 1 && browser.find_all(".badge-test").await.len() == 1);
    browser.screenshot(&shots, "02-conversations").await;

    // filter by type and customer
    browser.click(&browser.wait_for("select[name=type] option[value=whatsapp]").await).await;
    browser.type_into(&browser.wait_for("input[name=customer]").await, "+15551230001").await;
    browser.click(&browser.wait_for("#apply-filters").await).await;
    browser.wait_until("the filtered list", |html| html.contains("Ana") && !html.contains("crm-43")).await;
    assert!(browser.current_url().await.contains("type=whatsapp"), "the filter is in the address");
    browser.screenshot(&shots, "03-filtered").await;

    // the export of the filtered list, fetched with the browser's own session
    let href = browser
        .run_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector('#export-messages-csv').href).then(r => r.text()).then(done);",
            json!([]),
        )
        .await;
    let csv = href.as_str().unwrap();
    assert_eq!(csv.lines().count(), 2, "the header and Ana's one message: {csv}");
    assert!(csv.contains("Do you deliver on Sundays?") && !csv.contains("crm-43"));

    // open the conversation, take it over, reply
    browser.click(&browser.wait_for("a.conversation-link").await).await;
    browser.wait_for("#ai-off").await;
    assert!(browser.source().await.contains("Do you deliver on Sundays?"));
    browser.screenshot(&shots, "04-conversation").await;
    browser.click(&browser.wait_for("#ai-off").await).await;
    browser.wait_for("#ai-on").await;
    let conversation = app
        .store
        .list_conversations(
            app.workspace,
            &confab_storage::ConversationFilter { kind: Some(ConversationType::Whatsapp), ..Default::default() },
            confab_storage::PageRequest::first(1),
        )
        .await
        .unwrap()
        .items
        .remove(0);
    assert!(!conversation.ai_enabled, "AI is off for the conversation");
    // a new customer message appears by itself (server-sent events)
    let mut follow_up = inbound_from_ana("wamid.browser-2", "And on holidays?");
    follow_up.sent_at = OffsetDateTime::now_utc();
    app.store.ingest(&[follow_up], OffsetDateTime::now_utc()).await.unwrap();
    browser.wait_until("the live update", |html| html.contains("And on holidays?")).await;
    browser.type_into(&browser.wait_for("textarea[name=text]").await, "Yes, from 9 to 5. I'm Bo from the shop.").await;
    browser.click(&browser.wait_for("#send-reply").await).await;
    browser.wait_until("the agent's reply", |html| html.contains("I'm Bo from the shop.")).await;
    let messages = app.store.list_messages(app.workspace, conversation.id, None, 10).await.unwrap();
    assert_eq!(
        messages.last().map(|m| (m.role, m.content.as_str())),
        Some((Role::Agent, "Yes, from 9 to 5. I'm Bo from the shop."))
    );
    browser.screenshot(&shots, "05-replied").await;

    // metrics
    browser.click(&browser.wait_for("nav a[href='/analytics']").await).await;
    browser.wait_for("#metric-cards").await;
    browser.wait_until("the charts", |html| html.contains("Conversations per day") && html.contains("<rect")).await;
    browser.screenshot(&shots, "06-metrics").await;

    // settings: the assistants, with their test chat
    browser.click(&browser.wait_for("nav a[href='/settings/assistants']").await).await;
    browser.wait_for("button.test-chat").await;
    browser.screenshot(&shots, "07-assistants").await;
    browser.click(&browser.wait_for(".tabs a[href='/settings/senders']").await).await;
    browser.wait_for("table#senders").await;
    browser.screenshot(&shots, "08-senders").await;

    // a conversation whose window closed: the reply box gives way to the template picker
    let order_update = app
        .store
        .upsert_template(
            app.workspace,
            TemplateDefinition {
                name: TemplateName::parse("order_update").unwrap(),
                language: "en_US".into(),
                category: TemplateCategory::Utility,
                status: TemplateStatus::Approved,
                components: Template::body_components("Hi {{1}}, your order has shipped."),
                twilio_content_sid: None,
            },
        )
        .await
        .unwrap();
    let yesterday = OffsetDateTime::now_utc() - time::Duration::hours(25);
    let mut from_bea = inbound_from_ana("wamid.browser-bea", "Any news on my order?");
    from_bea.customer = CustomerIdentity::Whatsapp {
        wa_id: Some(PhoneNumber::parse("+15551230002").unwrap()),
        business_scoped_user_id: None,
    };
    from_bea.customer_name = Some("Bea".into());
    from_bea.sent_at = yesterday;
    let stored = app.store.ingest(&[from_bea], yesterday).await.unwrap();
    let confab_domain::IngestOutcome::Stored { conversation_id: bea, .. } = stored[0] else {
        panic!("Bea's message is stored: {stored:?}");
    };
    browser.goto(&app.url(&format!("/conversations/{bea}"))).await;
    browser.wait_for("#template-picker").await;
    assert!(browser.source().await.contains("closed since"), "the reason says since when");
    assert!(browser.find_all("#reply-form").await.is_empty(), "no free-form reply box");
    browser.type_into(&browser.wait_for("#template-order_update-en_US input[name=parameter]").await, "Bea").await;
    browser.screenshot(&shots, "09-template-picker").await;
    browser.click(&browser.wait_for("#template-order_update-en_US button.send-template").await).await;
    browser.wait_until("the sent template", |html| html.contains("[template order_update (en_US)] Bea")).await;
    let sent = app.store.list_messages(app.workspace, bea, None, 10).await.unwrap();
    let last = sent.last().unwrap();
    assert_eq!((last.role, last.kind), (Role::Agent, MessageKind::Template));
    assert_eq!(last.payload["template"]["name"], order_update.name.as_str());
    browser.screenshot(&shots, "10-template-sent").await;

    browser.quit().await;
    eprintln!("screenshots in {}", shots.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_builds_a_searchable_knowledge_base_in_chromium() {
    if !chromedriver_available() {
        return;
    }
    let app = spawn_app().await;
    let sender = app.meta_sender("106540352242923").await;
    app.store
        .create_user(NewUser {
            workspace_id: app.workspace,
            email: Email::parse("admin@example.com").unwrap(),
            role: UserRole::Admin,
            password_hash: confab_server::passwords::hash(PASSWORD).unwrap(),
        })
        .await
        .unwrap();
    let files = tempfile::tempdir().unwrap();
    let markdown = files.path().join("delivery.md");
    std::fs::write(&markdown, "# Delivery\n\nWe deliver on Sundays between 10:00 and 14:00.\n\n# Returns\n\nReturns are free within 30 days.\n").unwrap();

    let driver = webdriver::Driver::start().await;
    let browser = driver.session().await;
    let shots = screenshots_dir();
    browser.goto(&app.url("/settings/knowledge")).await;
    browser.type_into(&browser.wait_for("input[name=email]").await, "admin@example.com").await;
    browser.type_into(&browser.wait_for("input[name=password]").await, PASSWORD).await;
    browser.click(&browser.wait_for("#login-form button[type=submit]").await).await;

    // create a knowledge base, read a Markdown file into the form, add it
    browser.type_into(&browser.wait_for("#create-knowledge-base input[name=name]").await, "Shop FAQ").await;
    browser.click(&browser.wait_for("#create-knowledge-base button[type=submit]").await).await;
    let file_input = browser.wait_for("#document-file").await;
    browser.type_into(&file_input, markdown.to_str().unwrap()).await;
    let read = browser
        .run_async(
            "const done = arguments[arguments.length - 1];
             const check = () => { const f = document.querySelector('#add-document');
               if (f.content.value) { done([f.title.value, f.format.value, f.content.value]); } else { setTimeout(check, 20); } };
             check();",
            json!([]),
        )
        .await;
    assert_eq!(read[0], "delivery", "the title comes from the file name");
    assert_eq!(read[1], "md");
    assert!(read[2].as_str().unwrap().contains("We deliver on Sundays"));
    browser.click(&browser.wait_for("#add-document-button").await).await;
    browser.wait_for("table#documents").await;
    let kb = app.store.list_knowledge_bases(app.workspace).await.unwrap().remove(0);
    let documents = app.store.list_documents(app.workspace, kb.id).await.unwrap();
    assert_eq!((documents.len(), documents[0].title.as_str()), (1, "delivery"));
    assert!(documents[0].chunk_count >= 2);

    // try a question: the passage the assistant would find
    browser.type_into(&browser.wait_for("#search-knowledge input[name=q]").await, "sunday delivery").await;
    browser.click(&browser.wait_for("#search-button").await).await;
    browser
        .wait_until("the passages found", |html| {
            html.contains("search-results") && html.contains("We deliver on Sundays")
        })
        .await;
    browser.screenshot(&shots, "09-knowledge-base").await;
    browser.click(&browser.wait_for(".tabs a[href='/settings/knowledge']").await).await;
    browser.wait_for("table#knowledge-bases").await;
    browser.screenshot(&shots, "10-knowledge").await;

    // an HTTP tool: its header value is never shown again
    browser.goto(&app.url("/settings/tools/new")).await;
    browser.type_into(&browser.wait_for("#http-tool-form input[name=name]").await, "order_status").await;
    browser
        .type_into(
            &browser.wait_for("#http-tool-form textarea[name=description]").await,
            "Looks up an order by its number.",
        )
        .await;
    browser
        .type_into(
            &browser.wait_for("#http-tool-form input[name=url]").await,
            "https://shop.example.com/orders/{order_id}",
        )
        .await;
    browser
        .type_into(&browser.wait_for("#http-tool-form textarea[name=headers]").await, "Authorization: Bearer s3cret")
        .await;
    browser
        .type_into(
            &browser.wait_for("#http-tool-form textarea[name=parameters]").await,
            r#"{"type": "object", "properties": {"order_id": {"type": "string"}}}"#,
        )
        .await;
    browser.screenshot(&shots, "11-tool-form").await;
    browser.click(&browser.wait_for("#save-tool").await).await;
    browser.wait_for("table#http-tools").await;
    assert!(!browser.source().await.contains("s3cret"));
    browser.screenshot(&shots, "12-tools").await;

    // the prices, and the assistant form with the knowledge base and the tool to tick
    browser.click(&browser.wait_for(".tabs a[href='/settings/prices']").await).await;
    browser.wait_for("table#model-prices").await;
    browser.screenshot(&shots, "13-prices").await;
    browser.goto(&app.url(&format!("/settings/assistants/{}/edit", sender.assistant_id))).await;
    browser.wait_for("#assistant-form input[name=tools][value=order_status]").await;
    browser
        .click(&browser.wait_for(&format!("#assistant-form input[name=knowledge_base_ids][value='{}']", kb.id)).await)
        .await;
    browser.screenshot(&shots, "14-assistant-form").await;
    browser.click(&browser.wait_for("#save-assistant").await).await;
    browser.wait_for("button.test-chat").await;
    let assistant = app.store.get_assistant(app.workspace, sender.assistant_id).await.unwrap();
    assert_eq!(assistant.knowledge_base_ids, [kb.id]);

    browser.quit().await;
}
