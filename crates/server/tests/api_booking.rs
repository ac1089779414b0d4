//! Assistants that collect data and book appointments: the REST settings (`timezone`,
//! `data_fields`, `availability`) with their 422s, and an API conversation in which the fake
//! LLM calls `collect_data` then `schedule_appointment` — the variables and the booking show
//! in `GET /api/v1/conversations/{id}`.

#![allow(clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use confab_assistant::{OpenAiClient, OpenAiConfig, PriceTable};
use confab_engine::llm_responder::LlmResponder;
use confab_engine::responder::{Responder, TurnInput, TurnOutcome};
use confab_engine::tools::ToolCatalog;
use confab_sim::fake_llm::{FakeLlm, Step};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use support::*;

async fn send(app: &TestApp, method: reqwest::Method, path: &str, key: &str, body: Value) -> reqwest::Response {
    app.client.request(method, app.url(path)).bearer_auth(key).json(&body).send().await.unwrap()
}

fn availability() -> Value {
    let day = json!([["09:00", "13:00"], ["15:00", "19:00"]]);
    json!({
        "working_hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day},
        "slot_minutes": 30,
    })
}

#[tokio::test]
async fn assistant_settings_for_data_and_bookings_are_checked_and_kept() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let fields = json!([
        {"name": "email", "type": "email", "required": true, "description": "For the confirmation"},
        {"name": "party", "type": "integer", "min": 1, "max": 8},
    ]);
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/assistants",
        &key,
        json!({
            "name": "Bookings", "system_prompt": "Book tables.", "timezone": "Europe/Madrid",
            "tools": ["collect_data", "schedule_appointment"], "data_fields": fields, "availability": availability(),
        }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["timezone"], "Europe/Madrid");
    assert_eq!(created["data_fields"][0]["name"], "email");
    assert_eq!(created["data_fields"][1]["max"], json!(8.0));
    assert_eq!(created["availability"]["slot_minutes"], 30);
    assert_eq!(created["availability"]["working_hours"]["mon"], json!([["09:00", "13:00"], ["15:00", "19:00"]]));
    let path = format!("/api/v1/assistants/{}", created["id"].as_str().unwrap());
    assert_eq!(app.get(&path, Some(&key)).await.json::<Value>().await.unwrap(), created);

    // every broken rule is reported, per field
    let bad = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &key,
        json!({
            "timezone": "Europe/Atlantis",
            "data_fields": [{"name": "size", "type": "enum"}],
            "availability": {"working_hours": {"mon": [["09:00", "17:00"]]}, "slot_minutes": 600},
        }),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert!(body["fields"]["timezone"].as_str().unwrap().contains("Europe/Atlantis"), "{body}");
    assert!(body["fields"]["data_fields"].as_str().unwrap().contains("options"), "{body}");
    assert!(body["fields"]["availability"].as_str().unwrap().contains("slot_minutes"), "{body}");
    let unchanged: Value = app.get(&path, Some(&key)).await.json().await.unwrap();
    assert_eq!(unchanged, created, "a refused change changes nothing");

    // null clears the availability; data_fields are replaced whole
    let res = send(&app, reqwest::Method::PATCH, &path, &key, json!({"availability": null, "data_fields": []})).await;
    assert_eq!(res.status(), 200);
    let cleared: Value = res.json().await.unwrap();
    assert_eq!((&cleared["availability"], &cleared["data_fields"]), (&Value::Null, &json!([])));

    // defaults of a new assistant
    let plain =
        send(&app, reqwest::Method::POST, "/api/v1/assistants", &key, json!({"name": "P", "system_prompt": "p"}));
    let plain: Value = plain.await.json().await.unwrap();
    assert_eq!(
        (&plain["timezone"], &plain["data_fields"], &plain["availability"]),
        (&json!("UTC"), &json!([]), &Value::Null)
    );
}

/// The LLM responder, set once the app (and so its store) exists.
#[derive(Default)]
struct Late(OnceLock<Arc<dyn Responder>>);

#[async_trait]
impl Responder for Late {
    async fn respond(&self, input: TurnInput<'_>) -> TurnOutcome {
        self.0.get().expect("the responder is set before messages are posted").respond(input).await
    }
}

#[tokio::test]
async fn an_api_conversation_collects_data_and_books_an_appointment() {
    for backend in backends() {
        let late = Arc::new(Late::default());
        let app = spawn_app_with(backend, late.clone(), |_| {}).await;
        let llm = FakeLlm::start().await.unwrap();
        let client = Arc::new(OpenAiClient::new(OpenAiConfig::compatible(llm.base_url())).unwrap());
        let responder = LlmResponder::new(client, "gpt-4o-mini", PriceTable::default())
            .with_tools(ToolCatalog::with_store(app.store.clone()));
        assert!(late.0.set(Arc::new(responder)).is_ok());
        let key = app.api_key(app.workspace).await;

        let res = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/assistants",
            &key,
            json!({
                "name": "Clinic", "system_prompt": "Book visits. Now: {{current_date}} {{current_time}}.",
                "timezone": "Europe/Madrid", "tools": ["collect_data", "schedule_appointment"],
                "data_fields": [
                    {"name": "full_name", "type": "string", "required": true},
                    {"name": "email", "type": "email", "required": true},
                ],
                "availability": availability(),
            }),
        )
        .await;
        assert_eq!(res.status(), 201);
        let assistant: Value = res.json().await.unwrap();

        // two days on is in the future in Madrid whatever the time of day
        let day = (time::OffsetDateTime::now_utc() + time::Duration::days(2)).date();
        let start = format!("{day}T10:00");
        llm.script([
            Step::tool_call("collect_data", json!({"full_name": "Ana Ruiz", "email": "not-an-email"})),
            Step::tool_call("collect_data", json!({"email": "Ana@Example.com"})),
            Step::tool_call(
                "schedule_appointment",
                json!({"action": "book", "start": start, "customer_name": "Ana Ruiz", "notes": "check-up"}),
            ),
            Step::reply(format!("You're booked for {start}.")),
        ]);

        let res = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/conversations",
            &key,
            json!({"assistant_id": assistant["id"], "type": "api", "customer_identifier": "crm-ana"}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let res = send(
            &app,
            reqwest::Method::POST,
            &format!("/api/v1/conversations/{id}/messages"),
            &key,
            json!({"message": "I'm Ana Ruiz, can I come in on that day at ten?"}),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["reply"], format!("You're booked for {start}."));

        // the model was shown both tools, and read the rejected e-mail as a tool error
        let requests = llm.requests();
        let tools: Vec<&str> = requests[0].body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(tools, ["collect_data", "schedule_appointment"]);
        let second = requests[1].body["messages"].as_array().unwrap();
        let tool_answer = second.last().unwrap()["content"].as_str().unwrap();
        assert!(tool_answer.contains("email: not an e-mail address"), "{tool_answer}");

        let detail: Value = app.get(&format!("/api/v1/conversations/{id}"), Some(&key)).await.json().await.unwrap();
        let variables = &detail["variables"];
        assert_eq!((&variables["full_name"], &variables["email"]), (&json!("Ana Ruiz"), &json!("ana@example.com")));
        let appointment_at = variables["appointment_at"].as_str().unwrap();
        assert!(appointment_at.starts_with(&format!("{day}T10:00:00+0")), "{appointment_at}");
        let bookings = detail["bookings"].as_array().unwrap();
        assert_eq!(bookings.len(), 1);
        assert_eq!(bookings[0]["id"], variables["appointment_id"]);
        assert_eq!((&bookings[0]["status"], &bookings[0]["notes"]), (&json!("booked"), &json!("check-up")));
        let tool_calls: Vec<&str> = detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "tool")
            .map(|m| m["function_calls"]["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(tool_calls.len(), 3, "{detail}");
    }
}
