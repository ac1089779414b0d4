//! WhatsApp conformance (DESIGN §6): every webhook body in `shared/fixtures/whatsapp-cloud/pywa`
//! must parse, with nothing set aside, into the expected shape for its file.
//!
//! Each fixture file maps case name → full webhook body. The tables below name every file and,
//! for message files, every case: a new fixture file or case fails the test until it is added
//! here, so nothing in the folder goes unchecked.

#![allow(clippy::unwrap_used)]

use confab_channels::whatsapp::{parse_webhook, sign, verify_signature, EchoMessage, WebhookBatch};
use confab_domain::{DeliveryStatus, MessageKind, Role};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/whatsapp-cloud/pywa")
}

/// What one fixture file must yield.
enum Expect {
    /// `field: messages` with `value.messages[]`: one message per case, of this kind.
    Messages(&'static [(&'static str, MessageKind)]),
    /// `field: messages` with `value.statuses[]`: (case, raw status, mapped status).
    Statuses(&'static [(&'static str, &'static str, DeliveryStatus)]),
    /// `field: smb_message_echoes`: one echo per case, of this kind.
    Echoes(&'static [(&'static str, MessageKind)]),
    /// Any other field: every case is one `OtherEvent` with this field.
    Other(&'static str),
}

fn expectations() -> BTreeMap<&'static str, Expect> {
    use MessageKind as K;
    BTreeMap::from([
        (
            "message.json",
            Expect::Messages(&[
                ("text", K::Text),
                ("image", K::Image),
                ("media_with_url", K::Image),
                ("video", K::Video),
                ("document", K::Document),
                ("audio", K::Audio),
                ("voice", K::Voice),
                ("static_sticker", K::Sticker),
                ("animated_sticker", K::Sticker),
                ("reaction", K::Reaction),
                ("unreaction_empty", K::Reaction),
                ("unreaction_no_emoji", K::Reaction),
                ("current_location", K::Location),
                ("chosen_location", K::Location),
                ("contacts", K::Contacts),
                ("order", K::Order),
                ("unsupported", K::Unsupported),
                ("unsupported_with_type", K::Unsupported),
                ("reply", K::Text),
                ("forwarded", K::Text),
                ("forwarded_many_times", K::Text),
                ("interactive_message_with_err", K::Interactive),
                ("referral", K::Text),
            ]),
        ),
        (
            "callback_button.json",
            Expect::Messages(&[
                ("button", K::Interactive),
                ("quick_reply", K::Button),
                ("quick_reply_without_context", K::Button),
            ]),
        ),
        ("callback_selection.json", Expect::Messages(&[("callback", K::Interactive), ("description", K::Interactive)])),
        ("system.json", Expect::Messages(&[("phone_number_change", K::System), ("identity_change", K::System)])),
        ("edited_message.json", Expect::Messages(&[("image", K::Edit)])),
        ("deleted_message.json", Expect::Messages(&[("revoke", K::Revoke)])),
        (
            "flow_completion.json",
            Expect::Messages(&[("completion", K::Interactive), ("without_flow_token", K::Interactive)]),
        ),
        ("call_permission_update.json", Expect::Messages(&[("accept", K::Interactive), ("reject", K::Interactive)])),
        (
            "message_status.json",
            Expect::Statuses(&[
                ("sent", "sent", DeliveryStatus::Sent),
                ("delivered", "delivered", DeliveryStatus::Delivered),
                ("read", "read", DeliveryStatus::Read),
                ("played", "played", DeliveryStatus::Read),
                ("failed", "failed", DeliveryStatus::Failed),
                ("with_tracker", "sent", DeliveryStatus::Sent),
                ("group", "read", DeliveryStatus::Read),
            ]),
        ),
        ("outgoing_message.json", Expect::Echoes(&[("text", K::Text), ("delete", K::Revoke), ("edit", K::Edit)])),
        ("template_category_update.json", Expect::Other("template_category_update")),
        ("template_components_update.json", Expect::Other("message_template_components_update")),
        ("template_quality_update.json", Expect::Other("message_template_quality_update")),
        ("template_status_update.json", Expect::Other("message_template_status_update")),
        ("account_update.json", Expect::Other("account_update")),
        ("call_connect.json", Expect::Other("calls")),
        ("call_status.json", Expect::Other("calls")),
        ("call_terminate.json", Expect::Other("calls")),
        ("user_marketing_preferences.json", Expect::Other("user_preferences")),
    ])
}

/// Every `*.json` fixture file as (file name, case name, body bytes), in a stable order.
fn load_all() -> Vec<(String, String, Vec<u8>)> {
    let dir = fixtures_dir();
    let listing =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("the fixture folder {} must exist: {e}", dir.display()));
    let mut files: Vec<PathBuf> = listing
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 19, "expected the 19 pywa fixture files in {}, found {}", dir.display(), files.len());
    let mut cases = Vec::new();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 name").to_owned();
        let text = std::fs::read(&path).expect("readable fixture");
        let by_case: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{name} is a JSON object of cases: {e}"));
        assert!(!by_case.is_empty(), "{name} has no cases");
        for (case, body) in by_case {
            // Serialise each case on its own, as Meta would post it.
            cases.push((name.clone(), case, serde_json::to_vec(&body).expect("serialises")));
        }
    }
    cases
}

fn parse(file: &str, case: &str, body: &[u8]) -> WebhookBatch {
    let batch = parse_webhook(body).unwrap_or_else(|e| panic!("{file}/{case} must parse: {e}"));
    assert!(batch.unparsed.is_empty(), "{file}/{case} set something aside: {:#?}", batch.unparsed);
    batch
}

fn expected_kind(table: &[(&str, MessageKind)], file: &str, case: &str) -> MessageKind {
    table
        .iter()
        .find(|(name, _)| *name == case)
        .map(|(_, kind)| *kind)
        .unwrap_or_else(|| panic!("{file}/{case} has no expected kind: add it to the table"))
}

#[test]
fn every_fixture_parses_into_its_expected_shape() {
    let expectations = expectations();
    let all = load_all();
    let mut seen_files = std::collections::BTreeSet::new();
    let mut seen_cases: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (file, case, body) in &all {
        seen_files.insert(file.as_str());
        let expect =
            expectations.get(file.as_str()).unwrap_or_else(|| panic!("new fixture file {file}: add it to the table"));
        let batch = parse(file, case, body);
        seen_cases.entry(file.as_str()).or_default().push(case.as_str());
        match expect {
            Expect::Messages(table) => {
                let kind = expected_kind(table, file, case);
                assert_eq!(batch.messages.len(), 1, "{file}/{case}: {batch:#?}");
                assert!(
                    batch.statuses.is_empty() && batch.echoes.is_empty() && batch.other_events.is_empty(),
                    "{file}/{case}"
                );
                let m = &batch.messages[0];
                assert_eq!(m.kind, kind, "{file}/{case}");
                assert!(!m.wamid.is_empty() && !m.phone_number_id.is_empty(), "{file}/{case}");
                assert!(m.from.is_some() || m.business_scoped_user_id.is_some(), "{file}/{case}");
                assert!(!m.content.is_empty(), "{file}/{case} has empty content");
                assert!(m.payload.is_object(), "{file}/{case}");
            }
            Expect::Statuses(table) => {
                let (_, raw, status) = table
                    .iter()
                    .find(|(name, ..)| name == case)
                    .unwrap_or_else(|| panic!("{file}/{case} not in the table"));
                assert_eq!(batch.statuses.len(), 1, "{file}/{case}");
                assert!(batch.messages.is_empty(), "{file}/{case}");
                let s = &batch.statuses[0];
                assert_eq!((s.raw_status.as_str(), s.status), (*raw, Some(*status)), "{file}/{case}");
            }
            Expect::Echoes(table) => {
                let kind = expected_kind(table, file, case);
                assert_eq!(batch.echoes.len(), 1, "{file}/{case}");
                assert!(batch.messages.is_empty(), "{file}/{case}: echoes are not customer messages");
                assert_eq!(batch.echoes[0].kind, kind, "{file}/{case}");
                assert_eq!(EchoMessage::ROLE, Role::Agent);
            }
            Expect::Other(field) => {
                assert!(
                    batch.messages.is_empty() && batch.statuses.is_empty() && batch.echoes.is_empty(),
                    "{file}/{case}"
                );
                assert_eq!(batch.other_events.len(), 1, "{file}/{case}");
                assert_eq!(batch.other_events[0].field, *field, "{file}/{case}");
                assert!(batch.other_events[0].value.is_object(), "{file}/{case}");
            }
        }
    }
    let missing: Vec<&&str> = expectations.keys().filter(|f| !seen_files.contains(**f)).collect();
    assert!(missing.is_empty(), "fixture files named in the table but absent: {missing:?}");
    for (file, expect) in &expectations {
        let table_cases: Vec<&str> = match expect {
            Expect::Messages(t) | Expect::Echoes(t) => t.iter().map(|(c, _)| *c).collect(),
            Expect::Statuses(t) => t.iter().map(|(c, ..)| *c).collect(),
            Expect::Other(_) => continue,
        };
        let mut seen = seen_cases.get(file).cloned().unwrap_or_default();
        let mut table_sorted = table_cases.clone();
        seen.sort_unstable();
        table_sorted.sort_unstable();
        assert_eq!(seen, table_sorted, "{file}: cases in the file and in the table differ");
    }
    // The README's counts: 23 message cases, 17 account updates…
    assert_eq!(seen_cases["message.json"].len(), 23);
    assert_eq!(seen_cases["account_update.json"].len(), 17);
}

/// One case's batch, by file and case name.
fn case(file: &str, case: &str) -> WebhookBatch {
    let path = fixtures_dir().join(file);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all: serde_json::Value = serde_json::from_slice(&text).expect("json");
    let body = serde_json::to_vec(&all[case]).expect("serialises");
    parse(file, case, &body)
}

#[test]
fn message_details_are_read_as_meta_sent_them() {
    let text = &case("message.json", "text").messages[0];
    assert_eq!(text.content, "Body Text");
    assert_eq!(text.phone_number_id, "1122334455667");
    assert_eq!(text.display_phone_number.as_deref(), Some("972123456789"));
    assert_eq!(text.from.as_deref(), Some("972987654321"));
    assert_eq!(text.business_scoped_user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(text.profile_name.as_deref(), Some("Test Name"));
    assert_eq!(text.timestamp.unix_timestamp(), 1_697_043_223);
    assert!(!text.forwarded && text.reply_to.is_none());

    let media = &case("message.json", "media_with_url").messages[0];
    assert_eq!(media.content, "[image]");
    assert_eq!(media.payload["id"], "65463453");
    assert!(media.payload["url"].as_str().is_some_and(|u| u.starts_with("https://lookaside")));

    let video = &case("message.json", "video").messages[0];
    assert_eq!(video.content, "caption");
    assert!(video.forwarded);

    let voice = &case("message.json", "voice").messages[0];
    assert_eq!(voice.payload["voice"], true);

    assert!(case("message.json", "reaction").messages[0].content.starts_with("Reacted 😮 to wamid.yzxyzx="));
    for unreaction in ["unreaction_empty", "unreaction_no_emoji"] {
        let m = &case("message.json", unreaction).messages[0];
        assert!(m.content.starts_with("Removed reaction"), "{unreaction}: {}", m.content);
        assert_eq!(m.target_message_id.as_deref(), Some("wamid.yzxyzx="));
    }

    let place = &case("message.json", "chosen_location").messages[0];
    assert_eq!(place.content, "📍 Location: Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025");
    assert_eq!(case("message.json", "current_location").messages[0].content, "📍 Location: 12.25089, 43.90539");

    let contacts = &case("message.json", "contacts").messages[0];
    assert_eq!(contacts.content, "👤 Contacts: Chandler Bing, Monica, Rachel Green");
    assert_eq!(contacts.payload["contacts"].as_array().map(Vec::len), Some(3));

    assert_eq!(case("message.json", "order").messages[0].content, "🛒 Order: 3× HAMBURGER, 2× FRENCH_FRIES, 2× SODA");

    let unsupported = &case("message.json", "unsupported_with_type").messages[0];
    assert_eq!(unsupported.content, "[unsupported message: pool]");
    assert_eq!(unsupported.errors[0].code, Some(131051));
    assert_eq!(unsupported.errors[0].details.as_deref(), Some("Message type is currently not supported."));
    assert_eq!(unsupported.payload["errors"][0]["code"], 131051);

    let reply = &case("message.json", "reply").messages[0];
    assert_eq!(reply.reply_to.as_deref(), Some("wamid.xyzxyz=="));
    assert!(case("message.json", "forwarded_many_times").messages[0].forwarded);

    let with_err = case("message.json", "interactive_message_with_err");
    assert_eq!(with_err.change_errors.len(), 1);
    assert_eq!(with_err.change_errors[0].error.code, Some(131000));
    assert_eq!(with_err.change_errors[0].error.details.as_deref(), Some("Unsupported webhook payload"));

    let referral = &case("message.json", "referral").messages[0];
    assert_eq!(referral.content, "BODY");
    assert_eq!(referral.payload["referral"]["ctwa_clid"], "CTWA_CLID");
}

#[test]
fn replies_buttons_flows_and_system_events() {
    assert_eq!(case("callback_button.json", "button").messages[0].content, "title");
    let quick = &case("callback_button.json", "quick_reply_without_context").messages[0];
    assert_eq!(quick.content, "title");
    assert_eq!(quick.payload["payload"], "callback_data");
    assert_eq!(quick.business_scoped_user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(case("callback_selection.json", "description").messages[0].content, "title");

    let flow = &case("flow_completion.json", "completion").messages[0];
    assert!(flow.content.starts_with("📋 Form response: "), "{}", flow.content);
    assert!(
        flow.content.contains("comment_text: Comment Text") && !flow.content.contains("flow_token"),
        "{}",
        flow.content
    );

    assert_eq!(case("call_permission_update.json", "reject").messages[0].content, "📞 Call permission: reject");

    let number_change = &case("system.json", "phone_number_change").messages[0];
    assert_eq!(number_change.content, "User A changed from 972987654321 to 972912345678");
    assert_eq!(number_change.payload["wa_id"], "972912345678");
    assert_eq!(number_change.profile_name, None, "this payload has no contacts");
    let identity = &case("system.json", "identity_change").messages[0];
    assert_eq!(identity.payload["identity"]["acknowledged"], true);
}

#[test]
fn edits_and_deletions() {
    let edit = &case("edited_message.json", "image").messages[0];
    assert_eq!(edit.content, "Updated image caption");
    assert_eq!(
        edit.target_message_id.as_deref(),
        Some("wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
    );
    assert_eq!(edit.payload["message"]["image"]["id"], "1234567890");
    // The only contact in this payload is someone else (972987654321 ≠ from 16505551234):
    // neither their name nor their BSUID may be attached to this sender.
    assert_eq!(edit.from.as_deref(), Some("16505551234"));
    assert_eq!((edit.profile_name.as_deref(), edit.business_scoped_user_id.as_deref()), (None, None));

    let revoke = &case("deleted_message.json", "revoke").messages[0];
    assert_eq!(revoke.content, "Deleted a message");
    assert_eq!(revoke.target_message_id.as_deref(), Some("<ORIGINAL_WHATSAPP_MESSAGE_ID>"));
}

#[test]
fn statuses_carry_errors_pricing_and_trackers() {
    let sent = &case("message_status.json", "sent").statuses[0];
    assert_eq!(sent.wamid, "wamid.xyzxyz");
    assert_eq!(sent.recipient_id.as_deref(), Some("972987654321"));
    assert_eq!(sent.recipient_user_id.as_deref(), Some("US.13491208655302741918"), "from the matching contact");
    assert_eq!(sent.billable(), Some(true));
    assert_eq!(sent.pricing_category(), Some("service"));
    assert_eq!(
        sent.conversation.as_ref().map(|c| &c["id"]),
        Some(&serde_json::json!("7270432eae37498234f4444b35ffc5"))
    );

    let failed = &case("message_status.json", "failed").statuses[0];
    let error = failed.error().expect("failed has an error");
    assert_eq!(error.code, Some(130472));
    assert_eq!(error.title, "User's number is part of an experiment");
    assert_eq!(
        error.details.as_deref(),
        Some("Failed to send message because this user's phone number is part of an experiment")
    );

    assert_eq!(
        case("message_status.json", "with_tracker").statuses[0].biz_opaque_callback_data.as_deref(),
        Some("some data")
    );
    let group = &case("message_status.json", "group").statuses[0];
    assert_eq!(group.recipient_type.as_deref(), Some("group"));
    assert_eq!(group.recipient_user_id, None, "a group is not the contact");
}

#[test]
fn echoes_are_agent_messages() {
    let text = &case("outgoing_message.json", "text").echoes[0];
    assert_eq!(text.content, "Test message");
    assert_eq!(text.to_user_id.as_deref(), Some("<BSUID>"));
    assert_eq!(text.customer_wa_id(), Some("<WHATSAPP_USER_PHONE_NUMBER>"));
    let edit = &case("outgoing_message.json", "edit").echoes[0];
    assert_eq!((edit.content.as_str(), edit.target_message_id.as_deref()), ("Text was edited", Some("wamid.zzzzzz")));
    // pywa's sample has `from` and `to` the other way round; the customer is still found.
    assert_eq!(edit.customer_wa_id(), Some("972987654321"));
    let delete = &case("outgoing_message.json", "delete").echoes[0];
    assert_eq!(delete.target_message_id.as_deref(), Some("wamid.zzzzzz"));
}

#[test]
fn other_events_keep_the_account_and_number() {
    let approved = &case("template_status_update.json", "approved").other_events[0];
    assert_eq!(approved.business_account_id.as_deref(), Some("102290129340398"));
    assert_eq!(approved.value["event"], "APPROVED");
    assert!(approved.time.is_some());
    let prefs = &case("user_marketing_preferences.json", "resume").other_events[0];
    assert_eq!(prefs.phone_number_id.as_deref(), Some("106540352242922"));
    assert_eq!(prefs.value["user_preferences"][0]["value"], "resume");
}

#[test]
fn fixtures_survive_signing_on_their_exact_bytes() {
    let secret = b"fixture-secret";
    for (file, case, body) in load_all() {
        let header = sign(secret, &body);
        assert_eq!(verify_signature(secret, &body, Some(&header)), Ok(()), "{file}/{case}");
    }
}
