//! Settings → WhatsApp numbers: admins and owners add and edit a number through the form
//! (checked as the API checks it, each refused field shown), agents and viewers cannot.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{SenderStatus, UserRole};
use confab_storage::NewAssistant;
use reqwest::StatusCode;
use support::dashboard_visitor::login;
use support::spawn_app;

#[tokio::test]
async fn admins_add_and_edit_numbers_with_field_errors_shown() {
    let app = spawn_app().await;
    let assistant =
        app.store.create_assistant(NewAssistant::new(app.workspace, "Front desk", "You help.")).await.unwrap();
    let assistant_id = assistant.id.to_string();
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    let form = admin.get(&app, "/settings/senders/new").await.text().await.unwrap();
    assert!(form.contains("id=\"sender-form\"") && form.contains("Front desk"));

    let bad = [
        ("provider", "meta"),
        ("phone_number_id", "+1 555"),
        ("display_phone_number", "call me"),
        ("access_token", " "),
        ("assistant_id", assistant_id.as_str()),
        ("status", "online"),
    ];
    let refused = admin.post(&app, "/settings/senders", &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    for field in ["phone_number_id", "display_phone_number", "access_token"] {
        assert!(html.contains(&format!("id=\"error-{field}\"")), "{field} is marked");
    }
    assert!(html.contains("value=\"call me\""), "the form is kept");
    assert!(app.store.list_senders(app.workspace).await.unwrap().is_empty());

    let good = [
        ("provider", "meta"),
        ("phone_number_id", "106540352242922"),
        ("display_phone_number", "+15550783881"),
        ("access_token", "EAAG-secret"),
        ("assistant_id", assistant_id.as_str()),
        ("status", "online"),
    ];
    assert_eq!(admin.post(&app, "/settings/senders", &good).await.status(), StatusCode::SEE_OTHER);
    let senders = app.store.list_senders(app.workspace).await.unwrap();
    assert_eq!(senders.len(), 1);
    let sender = &senders[0];
    assert_eq!((sender.provider_sender_id.as_str(), sender.access_token.expose()), ("106540352242922", "EAAG-secret"));
    let twice = admin.post(&app, "/settings/senders", &good).await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    assert!(twice.text().await.unwrap().contains("id=\"form-error\""));

    // editing: an empty token keeps the current one; the provider's id is not a form field
    let edit_path = format!("/settings/senders/{}/edit", sender.id);
    let edit = admin.get(&app, &edit_path).await.text().await.unwrap();
    assert!(edit.contains("106540352242922") && !edit.contains("EAAG-secret"), "the token is never shown");
    let changes = [
        ("display_phone_number", "+15550783882"),
        ("access_token", ""),
        ("assistant_id", assistant_id.as_str()),
        ("status", "offline"),
    ];
    let path = format!("/settings/senders/{}", sender.id);
    assert_eq!(admin.post(&app, &path, &changes).await.status(), StatusCode::SEE_OTHER);
    let edited = app.store.get_sender(app.workspace, sender.id).await.unwrap();
    assert_eq!((edited.display_phone.as_str(), edited.status), ("+15550783882", SenderStatus::Offline));
    assert_eq!(edited.access_token.expose(), "EAAG-secret");
    let bad_edit = [
        ("display_phone_number", "nope"),
        ("access_token", ""),
        ("assistant_id", assistant_id.as_str()),
        ("status", "asleep"),
    ];
    let refused = admin.post(&app, &path, &bad_edit).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"error-display_phone_number\"") && html.contains("id=\"error-status\""));
    let listed = admin.get(&app, "/settings/senders").await.text().await.unwrap();
    assert!(listed.contains(&edit_path) && listed.contains("id=\"add-sender\""));

    // agents and viewers cannot; a form without the token is refused
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    assert_eq!(agent.get(&app, "/settings/senders/new").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(agent.get(&app, &edit_path).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(agent.post(&app, &path, &changes).await.status(), StatusCode::FORBIDDEN);
    let viewer = login(&app, "viewer@example.com", UserRole::Viewer).await;
    assert_eq!(viewer.post(&app, "/settings/senders", &good).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(admin.post_without_csrf(&app, &path, &changes).await.status(), StatusCode::FORBIDDEN);
    assert!(!agent.get(&app, "/settings/senders").await.text().await.unwrap().contains("id=\"add-sender\""));
}
