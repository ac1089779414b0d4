//! The dashboard's settings pages over plain HTTP: knowledge bases and their documents and
//! search, HTTP tools (header values never shown), the price table, and every assistant
//! setting in the assistant form — each page rendered, saved, refused with the problem next to
//! its field and the typed values kept, and read-only for agents and viewers.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{AfterEnd, KnowledgeMode, UserRole};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use support::dashboard_visitor::{login, no_redirects};
use support::spawn_app;

#[tokio::test]
async fn every_settings_page_sends_a_visitor_without_a_session_to_login() {
    let app = spawn_app().await;
    let client = no_redirects();
    for path in ["/settings/knowledge", "/settings/tools", "/settings/tools/new", "/settings/prices"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(response.headers()[LOCATION].to_str().unwrap().starts_with("/login?next="));
    }
    for path in ["/settings/knowledge", "/settings/tools", "/settings/prices", "/settings/prices/reset"] {
        let response = client.post(app.url(path)).form(&[("name", "x")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    }
    assert!(app.store.list_knowledge_bases(app.workspace).await.unwrap().is_empty());
}

#[tokio::test]
async fn admins_manage_knowledge_bases_and_documents_and_try_a_search() {
    let app = spawn_app().await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    let empty = admin.get(&app, "/settings/knowledge").await;
    assert_eq!(empty.status(), StatusCode::OK);
    assert!(empty.text().await.unwrap().contains("No knowledge base yet"));

    // a name is required: the problem is shown next to the field
    let refused = admin.post(&app, "/settings/knowledge", &[("name", "   ")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("id=\"name-error\""));

    let created = admin.post(&app, "/settings/knowledge", &[("name", "Shop FAQ")]).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let kb = app.store.list_knowledge_bases(app.workspace).await.unwrap().remove(0);
    assert_eq!(kb.name, "Shop FAQ");
    assert_eq!(created.headers()[LOCATION], format!("/settings/knowledge/{}", kb.id).as_str());
    let page = format!("/settings/knowledge/{}", kb.id);

    // a document without text is refused, with the title kept
    let refused = admin
        .post(&app, &format!("{page}/documents"), &[("title", "Delivery"), ("format", "md"), ("content", " ")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"content-error\"") && html.contains("value=\"Delivery\""), "{html}");

    let text =
        "# Delivery\n\nWe deliver on Sundays between 10:00 and 14:00.\n\n# Returns\n\nReturns are free within 30 days.";
    let added = admin
        .post(&app, &format!("{page}/documents"), &[("title", "Delivery"), ("format", "md"), ("content", text)])
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let documents = app.store.list_documents(app.workspace, kb.id).await.unwrap();
    assert_eq!(documents.len(), 1);
    assert!(documents[0].chunk_count >= 2, "split into passages when added");
    let html = admin.get(&app, &page).await.text().await.unwrap();
    assert!(html.contains("Delivery") && html.contains("status-ready"), "{html}");

    // the search box shows what the assistant would find
    let found = admin.get(&app, &format!("{page}?q=sunday+delivery")).await;
    assert_eq!(found.status(), StatusCode::OK);
    let html = found.text().await.unwrap();
    assert!(html.contains("id=\"search-results\"") && html.contains("We deliver on Sundays"), "{html}");
    let blank = admin.get(&app, &format!("{page}?q=")).await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY, "a question is required");

    // rename, then delete the document and the knowledge base
    assert_eq!(admin.post(&app, &page, &[("name", "FAQ")]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.get_knowledge_base(app.workspace, kb.id).await.unwrap().name, "FAQ");
    let deleted = admin.post(&app, &format!("{page}/documents/{}/delete", documents[0].id), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(app.store.list_documents(app.workspace, kb.id).await.unwrap().is_empty());
    assert_eq!(admin.post(&app, &format!("{page}/delete"), &[]).await.status(), StatusCode::SEE_OTHER);
    assert!(app.store.list_knowledge_bases(app.workspace).await.unwrap().is_empty());
    assert_eq!(admin.get(&app, &page).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn agents_and_viewers_read_knowledge_but_change_nothing() {
    let app = spawn_app().await;
    let kb = app.store.create_knowledge_base(app.workspace, "Shop FAQ").await.unwrap();
    let page = format!("/settings/knowledge/{}", kb.id);
    for (email, role) in [("agent@example.com", UserRole::Agent), ("viewer@example.com", UserRole::Viewer)] {
        let visitor = login(&app, email, role).await;
        let html = visitor.get(&app, &page).await.text().await.unwrap();
        assert!(html.contains("Shop FAQ") && !html.contains("id=\"add-document\""), "{role:?}");
        for (path, fields) in [
            ("/settings/knowledge".to_string(), vec![("name", "Other")]),
            (page.clone(), vec![("name", "Renamed")]),
            (format!("{page}/documents"), vec![("title", "T"), ("format", "txt"), ("content", "text")]),
            (format!("{page}/delete"), vec![]),
        ] {
            assert_eq!(visitor.post(&app, &path, &fields).await.status(), StatusCode::FORBIDDEN, "{role:?} {path}");
        }
    }
    let kbs = app.store.list_knowledge_bases(app.workspace).await.unwrap();
    assert_eq!((kbs.len(), kbs[0].name.as_str()), (1, "Shop FAQ"));
    assert!(app.store.list_documents(app.workspace, kb.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn admins_manage_http_tools_whose_header_values_are_never_shown() {
    let app = spawn_app().await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    assert_eq!(admin.get(&app, "/settings/tools/new").await.status(), StatusCode::OK);
    let fields = [
        ("name", "order_status"),
        ("description", "Looks up an order by its number."),
        ("method", "GET"),
        ("url", "https://shop.example.com/orders/{order_id}"),
        ("headers", "Authorization: Bearer s3cret-value"),
        (
            "parameters",
            r#"{"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}"#,
        ),
        ("timeout_secs", "5"),
    ];
    // the API's checks, each next to its field, with the typed values kept
    let mut bad = fields;
    bad[3] = ("url", "ftp://shop.example.com");
    bad[6] = ("timeout_secs", "soon");
    let refused = admin.post(&app, "/settings/tools", &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("id=\"timeout_secs-error\""));
    bad[6] = ("timeout_secs", "5");
    let refused = admin.post(&app, "/settings/tools", &bad).await.text().await.unwrap();
    assert!(refused.contains("id=\"url-error\"") && refused.contains("Looks up an order by its number."), "{refused}");
    assert!(app.store.list_http_tools(app.workspace).await.unwrap().is_empty());

    let created = admin.post(&app, "/settings/tools", &fields).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let tool = app.store.list_http_tools(app.workspace).await.unwrap().remove(0);
    assert_eq!(tool.definition.timeout.as_secs(), 5);
    let list = admin.get(&app, "/settings/tools").await.text().await.unwrap();
    assert!(list.contains("order_status") && list.contains("authorization: ***"));
    let form = admin.get(&app, &format!("/settings/tools/{}/edit", tool.id)).await.text().await.unwrap();
    assert!(!list.contains("s3cret-value") && !form.contains("s3cret-value"), "header values are write-only");
    assert!(form.contains("authorization: ***"));

    // editing without headers keeps them; a taken name is refused
    let mut edited = fields;
    edited[1] = ("description", "Looks up an order.");
    edited[4] = ("headers", "");
    let saved = admin.post(&app, &format!("/settings/tools/{}", tool.id), &edited).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let after = app.store.get_http_tool(app.workspace, tool.id).await.unwrap();
    assert_eq!(after.definition.description, "Looks up an order.");
    assert_eq!(after.definition.headers.names().collect::<Vec<_>>(), ["authorization"]);
    let mut other = fields;
    other[0] = ("name", "stock_level");
    assert_eq!(admin.post(&app, "/settings/tools", &other).await.status(), StatusCode::SEE_OTHER);
    let clash = admin.post(&app, &format!("/settings/tools/{}", tool.id), &other).await;
    assert_eq!(clash.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(clash.text().await.unwrap().contains("already has an HTTP tool of that name"));

    // agents read, without header values, and cannot change
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    let list = agent.get(&app, "/settings/tools").await.text().await.unwrap();
    assert!(list.contains("order_status") && !list.contains("s3cret-value") && !list.contains("/edit"));
    assert_eq!(agent.get(&app, "/settings/tools/new").await.status(), StatusCode::FORBIDDEN);
    let refused = agent.post(&app, &format!("/settings/tools/{}/delete", tool.id), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    assert_eq!(
        admin.post(&app, &format!("/settings/tools/{}/delete", tool.id), &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.store.list_http_tools(app.workspace).await.unwrap().len(), 1);
}

#[tokio::test]
async fn admins_edit_the_price_table_and_reset_it() {
    let app = spawn_app().await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    let html = admin.get(&app, "/settings/prices").await.text().await.unwrap();
    assert!(html.contains("These are the built-in defaults.") && html.contains("value=\"gpt-4o-mini\""));
    assert!(html.contains("name=\"fee_whatsapp_inbound\""));

    // the form as the page posts it: the model rows, then every channel fee
    let fee_names: Vec<String> = serde_json::to_value(confab_assistant::ChannelFees::default())
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .map(|key| format!("fee_{key}"))
        .collect();
    let mut fields: Vec<(&str, &str)> = vec![
        ("model_name", "my-model"),
        ("model_input", "100000"),
        ("model_cached", "50000"),
        ("model_output", "400000"),
        ("model_name", ""),
        ("model_input", ""),
        ("model_cached", ""),
        ("model_output", ""),
    ];
    fields.extend(fee_names.iter().map(|name| (name.as_str(), if name == "fee_api" { "7" } else { "0" })));
    // a number that does not parse is shown on its row, with what was typed; nothing is saved
    let mut bad = fields.clone();
    bad[3] = ("model_output", "lots");
    let api_fee = bad.iter().position(|(name, _)| *name == "fee_api").unwrap();
    bad[api_fee] = ("fee_api", "-1");
    let refused = admin.post(&app, "/settings/prices", &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("output must be a whole number") && html.contains("value=\"lots\""), "{html}");
    assert!(html.contains("must not be negative"));
    assert!(app.store.price_table(app.workspace).await.unwrap().is_none());

    let saved = admin.post(&app, "/settings/prices", &fields).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(saved.text().await.unwrap().contains("This workspace uses its own table."));
    let stored = app.store.price_table(app.workspace).await.unwrap().unwrap();
    assert_eq!(stored["models"].as_object().unwrap().keys().collect::<Vec<_>>(), ["my-model"]);
    assert_eq!(stored["models"]["my-model"]["output_per_million"], 400000);
    assert_eq!(stored["channel_fees"]["api"], 7);

    let viewer = login(&app, "viewer@example.com", UserRole::Viewer).await;
    let html = viewer.get(&app, "/settings/prices").await.text().await.unwrap();
    assert!(html.contains("value=\"my-model\"") && !html.contains("id=\"save-prices\""));
    assert_eq!(viewer.post(&app, "/settings/prices/reset", &[]).await.status(), StatusCode::FORBIDDEN);
    let agent = login(&app, "agent@example.com", UserRole::Agent).await;
    assert_eq!(agent.post(&app, "/settings/prices", &fields).await.status(), StatusCode::FORBIDDEN);

    assert_eq!(admin.post(&app, "/settings/prices/reset", &[]).await.status(), StatusCode::SEE_OTHER);
    assert!(app.store.price_table(app.workspace).await.unwrap().is_none());
}

#[tokio::test]
async fn the_assistant_form_edits_every_setting_the_api_accepts() {
    let app = spawn_app().await;
    let admin = login(&app, "admin@example.com", UserRole::Admin).await;
    let kb = app.store.create_knowledge_base(app.workspace, "Shop FAQ").await.unwrap();
    let tool = [
        ("name", "order_status"),
        ("description", "Looks up an order."),
        ("method", "GET"),
        ("url", "https://shop.example.com/orders"),
    ];
    assert_eq!(admin.post(&app, "/settings/tools", &tool).await.status(), StatusCode::SEE_OTHER);
    let form = admin.get(&app, "/settings/assistants/new").await.text().await.unwrap();
    assert!(form.contains("value=\"order_status\"") && form.contains("value=\"schedule_appointment\""));
    assert!(form.contains(&format!("value=\"{}\"", kb.id)) && form.contains("name=\"hours_mon\""));

    let kb_id = kb.id.to_string();
    let fields = vec![
        ("name", "Concierge"),
        ("system_prompt", "You help hotel guests."),
        ("first_message", "Welcome!"),
        ("fallback_message", "Sorry, one moment."),
        ("provider", "openai"),
        ("model", "gpt-4o-mini"),
        ("temperature", "0.4"),
        ("tools", "collect_data"),
        ("tools", "schedule_appointment"),
        ("tools", "order_status"),
        ("knowledge_base_ids", kb_id.as_str()),
        ("knowledge_mode", "prompt"),
        ("after_end", "reopen"),
        ("data_fields", r#"[{"name": "email", "type": "email", "required": true}]"#),
        ("availability", "on"),
        ("hours_mon", "09:00-13:00, 15:00-19:00"),
        ("hours_sat", "10:00-12:00"),
        ("slot_minutes", "30"),
        ("horizon_days", "60"),
        ("availability_timezone", ""),
        ("response_delay_ms", "1500"),
        ("inactivity_timeout_minutes", "45"),
        ("timezone", "Europe/Madrid"),
        ("extraction_schema", ""),
    ];
    let created = admin.post(&app, "/settings/assistants", &fields).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let assistant = app.store.list_assistants(app.workspace).await.unwrap().remove(0);
    assert_eq!(
        assistant.tools.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["collect_data", "schedule_appointment", "order_status"]
    );
    assert_eq!(assistant.knowledge_base_ids, [kb.id]);
    assert_eq!((assistant.knowledge_mode, assistant.after_end), (KnowledgeMode::Prompt, AfterEnd::Reopen));
    assert_eq!(assistant.data_fields[0].name, "email");
    assert_eq!(assistant.fallback_message.as_deref(), Some("Sorry, one moment."));
    let availability = assistant.availability.clone().unwrap();
    assert_eq!(availability.hours_of(0), [(540, 780), (900, 1140)]);
    assert_eq!((availability.slot_minutes, availability.horizon_days), (30, Some(60)));

    // the edit form shows it all again
    let edit = format!("/settings/assistants/{}", assistant.id);
    let form = admin.get(&app, &format!("{edit}/edit")).await.text().await.unwrap();
    assert!(form.contains("value=\"09:00-13:00, 15:00-19:00\"") && form.contains("value=\"reopen\" selected"));
    assert!(form.contains(&format!("value=\"{kb_id}\" checked")) && form.contains("value=\"order_status\" checked"));

    // each problem next to its field, everything typed kept, nothing saved
    let mut bad = fields.clone();
    bad[13] = ("data_fields", r#"[{"name": "email", "type": "colour"}]"#);
    bad[15] = ("hours_mon", "17:00-09:00");
    bad[20] = ("response_delay_ms", "soon");
    let refused = admin.post(&app, &edit, &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"response_delay_ms-error\"") && html.contains("value=\"soon\""), "{html}");
    bad[20] = ("response_delay_ms", "1500");
    let html = admin.post(&app, &edit, &bad).await.text().await.unwrap();
    assert!(html.contains("id=\"data_fields-error\"") && html.contains("id=\"availability-error\""), "{html}");
    assert!(html.contains("value=\"17:00-09:00\"") && html.contains("value=\"order_status\" checked"));

    // clearing: no tools, no knowledge bases, no appointments
    let cleared: Vec<(&str, &str)> = fields
        .iter()
        .copied()
        .filter(|(k, _)| !matches!(*k, "tools" | "knowledge_base_ids" | "availability"))
        .collect();
    assert_eq!(admin.post(&app, &edit, &cleared).await.status(), StatusCode::SEE_OTHER);
    let after = app.store.get_assistant(app.workspace, assistant.id).await.unwrap();
    assert!(after.tools.is_empty() && after.knowledge_base_ids.is_empty() && after.availability.is_none());
    assert_eq!(after.data_fields.len(), 1, "untouched settings stay");
}
