//! What a Twilio WhatsApp message *says*: its [`MessageKind`], a readable `content` line, the
//! attached media, and the structured `payload`.
//!
//! Twilio flattens WhatsApp's message types into form parameters: `Body`, `NumMedia` with
//! `MediaUrl{N}`/`MediaContentType{N}`, `Latitude`/`Longitude`/`Address`/`Label`,
//! `ButtonText`/`ButtonPayload`, and — on current traffic — a `MessageType` (`text`, `image`,
//! `video`, `audio`, `document`, `sticker`, `location`, `contacts`, `button`, `interactive`,
//! `reaction`…). The kind comes from `MessageType` when Twilio sent one, else from what the
//! form carries (coordinates, a button, the first attachment's content type).
//!
//! Content lines match the Meta side's: the text, a caption, or a short summary (`[image]`,
//! `📍 Location: Home, 1 Main St`, `👤 Contacts`…). The payload contract: every parameter
//! Twilio sent except the envelope (`MessageSid`, `SmsSid`, `SmsMessageSid`, `AccountSid`,
//! `From`, `To`, `ApiVersion`, `SmsStatus`, `WaId`, `ProfileName`) and the raw media fields
//! (`NumMedia`, `MediaUrl{N}`, `MediaContentType{N}`), under Twilio's own names as strings,
//! plus `media: [{url, content_type}]` when there are attachments. Nothing else is added.

use super::form_body::FormBody;
use confab_domain::MessageKind;
use serde_json::{json, Map, Value};

/// One attachment: Twilio's media URL (fetched with the account's credentials) and its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundMedia {
    pub url: String,
    pub content_type: Option<String>,
}

/// The kind, content, media and payload of one message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MessageContent {
    pub kind: MessageKind,
    pub content: String,
    pub media: Vec<InboundMedia>,
    pub payload: Value,
}

/// Parameters that identify and route a message rather than say anything.
const ENVELOPE: [&str; 10] = [
    "MessageSid",
    "SmsSid",
    "SmsMessageSid",
    "AccountSid",
    "From",
    "To",
    "ApiVersion",
    "SmsStatus",
    "WaId",
    "ProfileName",
];

/// Twilio allows at most 10 attachments; a form claiming more is read up to this many.
const MAX_MEDIA: usize = 10;

pub(crate) fn describe(form: &FormBody) -> MessageContent {
    let media = attachments(form);
    let message_type = form.text("MessageType").map(str::to_ascii_lowercase);
    let kind = kind_of(form, message_type.as_deref(), &media);
    let content = content_of(form, kind, message_type.as_deref(), &media);
    MessageContent { kind, content, payload: payload_of(form, &media), media }
}

fn attachments(form: &FormBody) -> Vec<InboundMedia> {
    let declared = form.text("NumMedia").and_then(|n| n.parse::<usize>().ok());
    let mut media = Vec::new();
    for i in 0..MAX_MEDIA {
        let Some(url) = form.text(&format!("MediaUrl{i}")) else {
            // an attachment without a URL ends the list, unless `NumMedia` says there are more
            if declared.is_some_and(|n| i < n) {
                continue;
            }
            break;
        };
        let content_type = form.text(&format!("MediaContentType{i}")).map(str::to_ascii_lowercase);
        media.push(InboundMedia { url: url.to_owned(), content_type });
    }
    media
}

fn kind_of(form: &FormBody, message_type: Option<&str>, media: &[InboundMedia]) -> MessageKind {
    let media_kind = || media.first().map(|m| media_kind(m.content_type.as_deref()));
    match message_type {
        Some("text") => media_kind().unwrap_or(MessageKind::Text),
        Some("image") => MessageKind::Image,
        Some("video") => MessageKind::Video,
        Some("audio") => MessageKind::Audio,
        Some("voice") => MessageKind::Voice,
        Some("document") => MessageKind::Document,
        Some("sticker") => MessageKind::Sticker,
        Some("location") => MessageKind::Location,
        Some("contacts" | "contact") => MessageKind::Contacts,
        Some("button") => MessageKind::Button,
        Some("interactive") => MessageKind::Interactive,
        Some("reaction") => MessageKind::Reaction,
        Some(_) => media_kind().unwrap_or(MessageKind::Unsupported),
        None if form.text("Latitude").is_some() && form.text("Longitude").is_some() => MessageKind::Location,
        None if form.text("ButtonPayload").is_some() || form.text("ButtonText").is_some() => MessageKind::Button,
        None => media_kind().unwrap_or(MessageKind::Text),
    }
}

fn media_kind(content_type: Option<&str>) -> MessageKind {
    let content_type = content_type.unwrap_or_default();
    let top = content_type.split('/').next().unwrap_or_default();
    match top {
        "image" => MessageKind::Image,
        "video" => MessageKind::Video,
        "audio" => MessageKind::Audio,
        _ if content_type.starts_with("text/vcard") || content_type.starts_with("text/x-vcard") => {
            MessageKind::Contacts
        }
        _ => MessageKind::Document,
    }
}

fn content_of(form: &FormBody, kind: MessageKind, message_type: Option<&str>, media: &[InboundMedia]) -> String {
    let body = form.text("Body");
    let first = |keys: &[&str]| keys.iter().find_map(|k| form.text(k)).map(str::to_owned);
    match kind {
        // the text exactly as sent, like the Meta side
        MessageKind::Text => form.get("Body").unwrap_or_default().to_owned(),
        MessageKind::Image
        | MessageKind::Video
        | MessageKind::Audio
        | MessageKind::Voice
        | MessageKind::Document
        | MessageKind::Sticker => body.map_or_else(|| media_placeholder(kind, media.len()), str::to_owned),
        MessageKind::Location => location(form),
        MessageKind::Contacts => body.map_or_else(|| "👤 Contacts".to_owned(), str::to_owned),
        MessageKind::Button => first(&["ButtonText", "Body", "ButtonPayload"]).unwrap_or_else(|| "[button]".into()),
        MessageKind::Interactive => first(&["ButtonText", "ListTitle", "Body", "ButtonPayload", "ListId"])
            .unwrap_or_else(|| "[interactive reply]".into()),
        MessageKind::Reaction => body.map_or_else(|| "[reaction]".to_owned(), |emoji| format!("Reacted {emoji}")),
        _ => body.map_or_else(
            || format!("[unsupported message type: {}]", message_type.unwrap_or("unknown")),
            str::to_owned,
        ),
    }
}

fn media_placeholder(kind: MessageKind, count: usize) -> String {
    let label = match kind {
        MessageKind::Voice => "voice message",
        other => other.as_str(),
    };
    match count {
        0 | 1 => format!("[{label}]"),
        n => format!("[{label} and {} more attachments]", n - 1),
    }
}

fn location(form: &FormBody) -> String {
    let words: Vec<&str> = ["Label", "Address"].iter().filter_map(|k| form.text(k)).collect();
    if !words.is_empty() {
        return format!("📍 Location: {}", words.join(", "));
    }
    match (form.text("Latitude"), form.text("Longitude")) {
        (Some(lat), Some(long)) => format!("📍 Location: {lat}, {long}"),
        _ => "📍 Location".to_owned(),
    }
}

fn payload_of(form: &FormBody, media: &[InboundMedia]) -> Value {
    let mut payload = Map::new();
    for (name, value) in form.pairs() {
        if ENVELOPE.contains(&name.as_str()) || is_media_field(name) {
            continue;
        }
        // a repeated name keeps its first value, as `FormBody::get` reads it
        payload.entry(name.clone()).or_insert_with(|| Value::String(value.clone()));
    }
    if !media.is_empty() {
        let list = media.iter().map(|m| json!({ "url": m.url, "content_type": m.content_type })).collect();
        payload.insert("media".to_owned(), Value::Array(list));
    }
    Value::Object(payload)
}

fn is_media_field(name: &str) -> bool {
    name == "NumMedia"
        || ["MediaUrl", "MediaContentType"].iter().any(|prefix| {
            name.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pairs: &[(&str, &str)]) -> MessageContent {
        describe(&FormBody::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn text_keeps_the_body_exactly() {
        let m = run(&[("MessageType", "text"), ("Body", "  hello  "), ("NumMedia", "0"), ("WaId", "1555")]);
        assert_eq!((m.kind, m.content.as_str()), (MessageKind::Text, "  hello  "));
        assert_eq!(m.payload, json!({"MessageType": "text", "Body": "  hello  "}));
        let untyped = run(&[("Body", "hi")]);
        assert_eq!(untyped.kind, MessageKind::Text);
    }

    #[test]
    fn media_by_type_or_content_type_with_caption_or_placeholder() {
        let image = run(&[
            ("NumMedia", "1"),
            ("MediaUrl0", "https://api.twilio.com/m/ME1"),
            ("MediaContentType0", "image/jpeg"),
            ("Body", ""),
        ]);
        assert_eq!((image.kind, image.content.as_str()), (MessageKind::Image, "[image]"));
        assert_eq!(
            image.media,
            [InboundMedia { url: "https://api.twilio.com/m/ME1".into(), content_type: Some("image/jpeg".into()) }]
        );
        assert_eq!(
            image.payload["media"],
            json!([{"url": "https://api.twilio.com/m/ME1", "content_type": "image/jpeg"}])
        );
        assert!(image.payload.get("MediaUrl0").is_none() && image.payload.get("NumMedia").is_none());

        let captioned = run(&[
            ("MessageType", "video"),
            ("MediaUrl0", "u"),
            ("MediaContentType0", "video/mp4"),
            ("Body", " look "),
        ]);
        assert_eq!((captioned.kind, captioned.content.as_str()), (MessageKind::Video, "look"));
        let doc =
            run(&[("NumMedia", "2"), ("MediaUrl0", "a"), ("MediaContentType0", "application/pdf"), ("MediaUrl1", "b")]);
        assert_eq!((doc.kind, doc.content.as_str()), (MessageKind::Document, "[document and 1 more attachments]"));
        let voice = run(&[("NumMedia", "1"), ("MediaUrl0", "a"), ("MediaContentType0", "audio/ogg")]);
        assert_eq!(voice.kind, MessageKind::Audio);
        let vcard = run(&[
            ("MessageType", "contacts"),
            ("NumMedia", "1"),
            ("MediaUrl0", "a"),
            ("MediaContentType0", "text/vcard"),
        ]);
        assert_eq!((vcard.kind, vcard.content.as_str()), (MessageKind::Contacts, "👤 Contacts"));
        let untyped_vcard = run(&[("NumMedia", "1"), ("MediaUrl0", "a"), ("MediaContentType0", "text/x-vcard")]);
        assert_eq!(untyped_vcard.kind, MessageKind::Contacts);
        let typed_text_with_media =
            run(&[("MessageType", "text"), ("MediaUrl0", "a"), ("MediaContentType0", "IMAGE/PNG")]);
        assert_eq!(typed_text_with_media.kind, MessageKind::Image);
    }

    #[test]
    fn media_lists_skip_gaps_only_when_declared_and_stop_at_ten() {
        let gap = run(&[("NumMedia", "2"), ("MediaUrl1", "b")]);
        assert_eq!(gap.media.len(), 1);
        let undeclared_gap = run(&[("MediaUrl1", "b")]);
        assert!(undeclared_gap.media.is_empty());
        let many: Vec<(String, String)> = (0..15).map(|i| (format!("MediaUrl{i}"), format!("u{i}"))).collect();
        let lots = describe(&FormBody::from_pairs(many));
        assert_eq!(lots.media.len(), 10);
    }

    #[test]
    fn location_button_interactive_reaction() {
        let loc = run(&[("MessageType", "location"), ("Latitude", "25.0187"), ("Longitude", "-77.3959"), ("Body", "")]);
        assert_eq!((loc.kind, loc.content.as_str()), (MessageKind::Location, "📍 Location: 25.0187, -77.3959"));
        assert_eq!(loc.payload["Latitude"], "25.0187");
        let named = run(&[("Latitude", "1"), ("Longitude", "2"), ("Label", "Home"), ("Address", "1 Main St")]);
        assert_eq!((named.kind, named.content.as_str()), (MessageKind::Location, "📍 Location: Home, 1 Main St"));
        let button = run(&[
            ("MessageType", "button"),
            ("ButtonText", "Confirm"),
            ("ButtonPayload", "{ok}"),
            ("Body", "Confirm"),
        ]);
        assert_eq!((button.kind, button.content.as_str()), (MessageKind::Button, "Confirm"));
        assert_eq!(button.payload["ButtonPayload"], "{ok}");
        let untyped_button = run(&[("ButtonPayload", "yes")]);
        assert_eq!((untyped_button.kind, untyped_button.content.as_str()), (MessageKind::Button, "yes"));
        let interactive = run(&[("MessageType", "interactive"), ("Body", "Konfirmasi")]);
        assert_eq!((interactive.kind, interactive.content.as_str()), (MessageKind::Interactive, "Konfirmasi"));
        let reaction = run(&[("MessageType", "reaction"), ("Body", "👍")]);
        assert_eq!((reaction.kind, reaction.content.as_str()), (MessageKind::Reaction, "Reacted 👍"));
    }

    #[test]
    fn unknown_types_keep_the_body_or_say_what_they_were() {
        let odd = run(&[("MessageType", "hologram")]);
        assert_eq!(
            (odd.kind, odd.content.as_str()),
            (MessageKind::Unsupported, "[unsupported message type: hologram]")
        );
        let with_text = run(&[("MessageType", "poll"), ("Body", "Pick one")]);
        assert_eq!((with_text.kind, with_text.content.as_str()), (MessageKind::Unsupported, "Pick one"));
        assert_eq!(with_text.payload["MessageType"], "poll");
    }

    #[test]
    fn media_field_names_are_recognised_exactly() {
        assert!(is_media_field("MediaUrl0") && is_media_field("MediaContentType12") && is_media_field("NumMedia"));
        assert!(!is_media_field("MediaUrl") && !is_media_field("MediaUrlX") && !is_media_field("ReferralMediaUrl"));
    }
}
