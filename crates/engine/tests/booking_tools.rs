//! `collect_data`, `schedule_appointment` and the local time in the prompt, against a real
//! SQLite store with fixed clock values (around Madrid's 2026-03-29 clock change).

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::data_field::parse_data_fields;
use confab_domain::*;
use confab_engine::prompt::system_prompt;
use confab_engine::tools::{ToolCatalog, ToolContext, Toolbox};
use confab_storage::{NewConversation, Store};
use serde_json::{json, Value};
use std::sync::Arc;
use support::Fixture;
use time::macros::datetime;
use time::OffsetDateTime;

async fn api_conversation(fx: &Fixture, who: &str) -> Conversation {
    let new = NewConversation {
        workspace_id: fx.ws,
        assistant_id: fx.assistant.id,
        kind: ConversationType::Api,
        customer_identifier: Some(who.into()),
        variables: serde_json::Map::new(),
        first_message: None,
    };
    fx.store.create_conversation(new, OffsetDateTime::now_utc()).await.unwrap()
}

async fn toolbox(fx: &Fixture) -> Toolbox {
    ToolCatalog::with_store(fx.store.clone()).toolbox(&fx.assistant).await
}

async fn call(
    fx: &Fixture,
    conversation: &Conversation,
    now: OffsetDateTime,
    name: &str,
    args: Value,
) -> confab_engine::tools::ToolRun {
    let context = ToolContext { assistant: &fx.assistant, conversation, customer: None, now };
    toolbox(fx).await.call(name, &context, &args).await
}

#[tokio::test]
async fn current_date_and_time_are_the_assistants_wall_clock() {
    let fx = Fixture::new(|a| {
        a.timezone = "Europe/Madrid".into();
        a.system_prompt = "Today is {{current_date}}, {{current_time}}.".into();
    })
    .await;
    let conversation = api_conversation(&fx, "crm-1").await;
    let at = |now| system_prompt(&fx.assistant, &conversation, None, now);
    // Madrid jumps from 02:00 CET to 03:00 CEST at 01:00 UTC on 2026-03-29
    assert_eq!(at(datetime!(2026-03-28 23:30 UTC)), "Today is 2026-03-29, 00:30 Europe/Madrid.");
    assert_eq!(at(datetime!(2026-03-29 00:59 UTC)), "Today is 2026-03-29, 01:59 Europe/Madrid.");
    assert_eq!(at(datetime!(2026-03-29 01:00 UTC)), "Today is 2026-03-29, 03:00 Europe/Madrid.");
    assert_eq!(at(datetime!(2026-07-01 12:00 UTC)), "Today is 2026-07-01, 14:00 Europe/Madrid.");
}

#[tokio::test]
async fn collect_data_keeps_valid_values_and_names_each_broken_rule() {
    let fx = Fixture::new(|a| {
        a.tools = vec![ToolName::parse("collect_data").unwrap()];
        a.data_fields = parse_data_fields(&json!([
            {"name": "full_name", "type": "string", "required": true, "description": "The customer's name"},
            {"name": "email", "type": "email", "required": true},
            {"name": "guests", "type": "integer", "min": 1, "max": 8},
            {"name": "menu", "type": "enum", "options": ["Vegetarian", "Classic"]},
        ]))
        .unwrap();
    })
    .await;
    let spec = &toolbox(&fx).await.specs()[0];
    assert_eq!(spec.name, "collect_data");
    assert_eq!(spec.parameters["properties"]["menu"], json!({"type": "string", "enum": ["Vegetarian", "Classic"]}));
    assert_eq!(spec.parameters["properties"]["guests"], json!({"type": "integer", "minimum": 1, "maximum": 8}));
    assert!(spec.description.contains("full_name, email"), "{}", spec.description);

    let conversation = api_conversation(&fx, "crm-1").await;
    let now = OffsetDateTime::now_utc();
    let run = call(
        &fx,
        &conversation,
        now,
        "collect_data",
        json!({"full_name": " Ana Ruiz ", "email": "ana at example", "guests": 12, "menu": "classic", "shoe": 42}),
    )
    .await;
    let error = run.result.unwrap_err();
    assert!(error.contains("email: not an e-mail address"), "{error}");
    assert!(error.contains("guests: must be at most 8"), "{error}");
    assert!(error.contains("shoe: not a field to collect"), "{error}");
    assert!(error.contains("Saved: full_name, menu"), "{error}");
    assert_eq!(Value::Object(run.variables), json!({"full_name": "Ana Ruiz", "menu": "Classic"}));

    let run = call(&fx, &conversation, now, "collect_data", json!({"email": "Ana@Example.com"})).await;
    assert_eq!(run.result.unwrap(), json!({"saved": ["email"], "missing_required": ["full_name"]}));
    assert_eq!(Value::Object(run.variables), json!({"email": "ana@example.com"}));
    assert!(call(&fx, &conversation, now, "collect_data", json!({})).await.result.is_err());
}

fn hours() -> Availability {
    Availability::parse(&json!({
        "working_hours": {"mon": [["09:00", "11:00"]], "sun": [["01:00", "04:00"]]},
        "slot_minutes": 60,
        "horizon_days": 30,
    }))
    .unwrap()
}

async fn booking_fixture() -> Fixture {
    Fixture::new(|a| {
        a.timezone = "Europe/Madrid".into();
        a.tools = vec![ToolName::parse("schedule_appointment").unwrap()];
        a.availability = Some(hours());
    })
    .await
}

/// Friday 2026-03-27 10:00 in Madrid.
const NOW: OffsetDateTime = datetime!(2026-03-27 09:00 UTC);

#[tokio::test]
async fn slots_are_listed_in_local_time_and_the_skipped_hour_is_not_offered() {
    let fx = booking_fixture().await;
    let conversation = api_conversation(&fx, "crm-1").await;
    let run =
        call(&fx, &conversation, NOW, "schedule_appointment", json!({"action": "list_slots", "to_date": "2026-03-30"}))
            .await;
    let listed = run.result.unwrap();
    assert_eq!(listed["timezone"], "Europe/Madrid");
    // Sunday 29th: 01:00 would end at 03:00 after only one real hour; 02:00 does not exist
    assert_eq!(
        listed["free_slots"],
        json!([
            {"date": "2026-03-29", "weekday": "sun", "free": ["03:00"]},
            {"date": "2026-03-30", "weekday": "mon", "free": ["09:00", "10:00"]},
        ])
    );
    let beyond = call(
        &fx,
        &conversation,
        NOW,
        "schedule_appointment",
        json!({"action": "list_slots", "from_date": "2026-06-01"}),
    )
    .await;
    assert_eq!(beyond.result.unwrap()["free_slots"], json!([]), "past the 30-day horizon");
}

#[tokio::test]
async fn booking_sets_variables_and_only_the_customer_may_cancel_or_move_it() {
    let fx = booking_fixture().await;
    let ana = api_conversation(&fx, "crm-ana").await;
    let ben = api_conversation(&fx, "crm-ben").await;
    let book = |start: &str| json!({"action": "book", "start": start, "customer_name": "Ana", "notes": "first visit"});

    for (start, expected) in [
        ("2026-03-30T09:30", "not a bookable slot"),
        ("2026-03-30T11:00", "not a bookable slot"),
        ("2026-03-29T02:00", "not a bookable slot"),
        ("next monday", "not a date and time"),
        ("2026-03-23T09:00", "already begun"),
    ] {
        let error = call(&fx, &ana, NOW, "schedule_appointment", book(start)).await.result.unwrap_err();
        assert!(error.contains(expected), "{start}: {error}");
    }

    let run = call(&fx, &ana, NOW, "schedule_appointment", book("2026-03-30T09:00")).await;
    let booked = run.result.unwrap();
    assert_eq!(booked["booking"]["start"], "2026-03-30T09:00");
    assert_eq!(run.variables["appointment_at"], "2026-03-30T09:00:00+02:00");
    let id = run.variables["appointment_id"].as_str().unwrap().to_string();
    assert_eq!(booked["booking"]["booking_id"], id.as_str());
    let stored = fx.store.conversation_bookings(fx.ws, ana.id).await.unwrap();
    assert_eq!(
        (stored.len(), stored[0].starts_at, stored[0].notes.as_deref()),
        (1, datetime!(2026-03-30 07:00 UTC), Some("first visit"))
    );

    // the same slot is taken now, for anyone; the list no longer offers it
    let error = call(&fx, &ben, NOW, "schedule_appointment", book("2026-03-30T09:00")).await.result.unwrap_err();
    assert!(error.contains("already taken"), "{error}");
    let listed = call(
        &fx,
        &ben,
        NOW,
        "schedule_appointment",
        json!({"action": "list_slots", "from_date": "2026-03-30", "to_date": "2026-03-30"}),
    )
    .await
    .result
    .unwrap();
    assert_eq!(listed["free_slots"][0]["free"], json!(["10:00"]));

    // Ben can neither cancel nor move Ana's booking
    for action in [
        json!({"action": "cancel", "booking_id": id}),
        json!({"action": "reschedule", "booking_id": id, "start": "2026-03-30T10:00"}),
    ] {
        let error = call(&fx, &ben, NOW, "schedule_appointment", action).await.result.unwrap_err();
        assert!(error.contains("no current booking"), "{error}");
    }

    // Ana moves it (the booking id defaults to her conversation's appointment), then cancels it
    let mut ana_now = ana.clone();
    ana_now.variables.insert("appointment_id".into(), json!(id));
    let moved =
        call(&fx, &ana_now, NOW, "schedule_appointment", json!({"action": "reschedule", "start": "2026-03-30T10:00"}))
            .await;
    assert_eq!(moved.result.unwrap()["booking"]["start"], "2026-03-30T10:00");
    assert_eq!(moved.variables["appointment_at"], "2026-03-30T10:00:00+02:00");
    let cancelled = call(&fx, &ana_now, NOW, "schedule_appointment", json!({"action": "cancel"})).await;
    assert_eq!(cancelled.result.unwrap()["status"], "cancelled");
    assert_eq!(Value::Object(cancelled.variables), json!({"appointment_at": null, "appointment_id": null}));
    // the slot is free again
    assert!(call(&fx, &ben, NOW, "schedule_appointment", book("2026-03-30T10:00")).await.result.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_of_one_slot_through_the_tool_book_it_once() {
    let fx = Arc::new(booking_fixture().await);
    let mut conversations = Vec::new();
    for i in 0..16 {
        conversations.push(api_conversation(&fx, &format!("crm-{i}")).await);
    }
    let tasks: Vec<_> = conversations
        .into_iter()
        .map(|conversation| {
            let fx = fx.clone();
            tokio::spawn(async move {
                call(
                    &fx,
                    &conversation,
                    NOW,
                    "schedule_appointment",
                    json!({"action": "book", "start": "2026-03-30T10:00"}),
                )
                .await
                .result
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().filter_map(|r| r.as_ref().err()).all(|e| e.contains("already taken")));
    let store: &Arc<dyn Store> = &fx.store;
    let held = store
        .bookings_between(fx.ws, fx.assistant.id, datetime!(2026-03-30 00:00 UTC), datetime!(2026-03-31 00:00 UTC))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
}

#[tokio::test]
async fn tools_without_their_settings_are_left_out() {
    let fx = Fixture::new(|a| {
        a.tools =
            ["collect_data", "schedule_appointment", "end_conversation"].map(|t| ToolName::parse(t).unwrap()).to_vec();
    })
    .await;
    let names: Vec<String> = toolbox(&fx).await.specs().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["end_conversation"]);
    let mut with_hours = fx.assistant.clone();
    with_hours.availability = Some(hours());
    let builtin_only = ToolCatalog::builtin().toolbox(&with_hours).await;
    assert_eq!(builtin_only.specs().len(), 1, "schedule_appointment needs the store");
    let with_store = ToolCatalog::with_store(fx.store.clone()).toolbox(&with_hours).await;
    assert_eq!(with_store.specs().len(), 2);
}

#[tokio::test]
async fn a_long_list_of_slots_is_cut_and_says_so() {
    let fx = Fixture::new(|a| {
        a.tools = vec![ToolName::parse("schedule_appointment").unwrap()];
        a.availability = Some(
            Availability::parse(&json!({"working_hours": {"mon": [["00:00", "24:00"]], "tue": [["00:00", "24:00"]]}, "slot_minutes": 5}))
                .unwrap(),
        );
    })
    .await;
    let conversation = api_conversation(&fx, "crm-1").await;
    let listed =
        call(&fx, &conversation, NOW, "schedule_appointment", json!({"action": "list_slots", "to_date": "2026-04-30"}))
            .await
            .result
            .unwrap();
    assert_eq!(listed["to_date"], "2026-04-09", "at most 14 days per call");
    let count: usize =
        listed["free_slots"].as_array().unwrap().iter().map(|d| d["free"].as_array().unwrap().len()).sum();
    assert_eq!((count, &listed["more_slots_after_these"]), (120, &json!(true)));
    assert_eq!(listed["free_slots"][0]["free"][0], "00:00");
}
