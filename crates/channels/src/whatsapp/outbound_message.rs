//! A message confab sends through Meta's WhatsApp Cloud API, and its exact request body.
//!
//! This module owns the shapes we send (`POST /{version}/{phone_number_id}/messages`): text,
//! template, reply buttons, list, media and reaction messages; their JSON as Meta documents it
//! (`messaging_product: "whatsapp"`, `recipient_type: "individual"`, `to`, `type`, the object
//! named by `type`, and `context.message_id` for a quoted reply); and the limits Meta enforces,
//! checked by [`OutboundMessage::validate`] so a bad message is refused with a readable reason
//! before it is queued rather than by a `(#100)` from the provider later.
//!
//! Limits, from Meta's Cloud API message docs (text, interactive reply buttons, interactive
//! list, media and reaction messages): text body 4096 characters; interactive body 1024;
//! 1 to 3 reply buttons with titles of at most 20 characters (unique) and ids of at most 256;
//! a list button label of at most 20; at most 10 sections with at most 10 rows in all, row
//! titles 24, row descriptions 72, row ids 200, section titles 24 (required when there is more
//! than one section); media captions 1024, on image, video and document only; file names on
//! documents only. Lengths are counted in Unicode characters.
//!
//! It does not send anything (that is `graph_client`), split long texts (`split_text`), or
//! decide whether a free-form message may go out at all (the 24-hour window is the engine's).

use confab_domain::{TemplateName, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// Most characters in a text message body.
pub const MAX_TEXT_BODY_CHARS: usize = 4096;
/// Most characters in the body of an interactive (buttons or list) message.
pub const MAX_INTERACTIVE_BODY_CHARS: usize = 1024;
/// Most reply buttons in one message.
pub const MAX_REPLY_BUTTONS: usize = 3;
/// Most characters in a reply button's title.
pub const MAX_BUTTON_TITLE_CHARS: usize = 20;
/// Most characters in a reply button's id.
pub const MAX_BUTTON_ID_CHARS: usize = 256;
/// Most characters in the label of the button that opens a list.
pub const MAX_LIST_BUTTON_CHARS: usize = 20;
/// Most sections in a list message.
pub const MAX_LIST_SECTIONS: usize = 10;
/// Most rows in a list message, all sections together.
pub const MAX_LIST_ROWS: usize = 10;
/// Most characters in a list section's title.
pub const MAX_SECTION_TITLE_CHARS: usize = 24;
/// Most characters in a list row's title.
pub const MAX_ROW_TITLE_CHARS: usize = 24;
/// Most characters in a list row's description.
pub const MAX_ROW_DESCRIPTION_CHARS: usize = 72;
/// Most characters in a list row's id.
pub const MAX_ROW_ID_CHARS: usize = 200;
/// Most characters in a media caption.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// One reply button: the `id` comes back in the customer's `button_reply`, the `title` is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButton {
    pub id: String,
    pub title: String,
}

/// A titled group of rows in a list message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    /// Required by Meta when the list has more than one section.
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

/// One choice in a list message: the `id` comes back in the customer's `list_reply`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// Which media message: also the `type` and the name of the media object in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }

    /// Meta takes a caption on images, videos and documents only.
    pub fn takes_caption(self) -> bool {
        matches!(self, Self::Image | Self::Video | Self::Document)
    }
}

/// Where Meta fetches the media from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// A public `http(s)` URL Meta downloads (`link`).
    Link(String),
    /// The id of media uploaded to Meta beforehand (`id`).
    Id(String),
}

/// A message to send to one WhatsApp user. `to` is the customer's phone number or `wa_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum OutboundMessage {
    /// Free-form text; only inside the 24-hour window.
    Text {
        to: String,
        body: String,
        /// The wamid to quote (`context.message_id`).
        reply_to: Option<String>,
        /// Ask the WhatsApp client to render a preview of the first URL in `body`.
        preview_url: bool,
    },
    /// An approved template; may go out at any time.
    Template {
        to: String,
        /// The template's name as approved by Meta.
        name: String,
        /// Its language and locale code, e.g. `en_US`.
        language: String,
        /// Meta's `components` array with the header/body/button parameters, sent as is;
        /// `null` or `[]` for a template without parameters.
        components: Value,
    },
    /// Text with 1 to 3 reply buttons.
    Buttons { to: String, body: String, buttons: Vec<ReplyButton> },
    /// Text with a button that opens a list of choices.
    List { to: String, body: String, button_text: String, sections: Vec<ListSection> },
    /// An image, audio clip, video, document or sticker.
    Media {
        to: String,
        kind: MediaKind,
        source: MediaSource,
        /// Image, video and document only.
        caption: Option<String>,
        /// Document only: the file name the customer sees.
        filename: Option<String>,
    },
    /// An emoji reaction to a message the customer sent; an empty `emoji` removes ours.
    Reaction { to: String, message_id: String, emoji: String },
}

impl OutboundMessage {
    /// The recipient (`to`).
    pub fn to(&self) -> &str {
        match self {
            Self::Text { to, .. }
            | Self::Template { to, .. }
            | Self::Buttons { to, .. }
            | Self::List { to, .. }
            | Self::Media { to, .. }
            | Self::Reaction { to, .. } => to,
        }
    }

    /// The body's `type`: `text`, `template`, `interactive`, a media kind, or `reaction`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Template { .. } => "template",
            Self::Buttons { .. } | Self::List { .. } => "interactive",
            Self::Media { kind, .. } => kind.as_str(),
            Self::Reaction { .. } => "reaction",
        }
    }

    /// Whether Meta lets this go out outside the 24-hour window (templates only).
    pub fn allowed_outside_window(&self) -> bool {
        matches!(self, Self::Template { .. })
    }

    /// The request body for `POST /{version}/{phone_number_id}/messages`, exactly as Meta
    /// documents it. Does not validate; call [`Self::validate`] first.
    pub fn to_request_body(&self) -> Value {
        let type_name = self.type_name();
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": self.to(),
            "type": type_name,
        });
        body[type_name] = self.typed_object();
        if let Self::Text { reply_to: Some(wamid), .. } = self {
            body["context"] = json!({ "message_id": wamid });
        }
        body
    }

    /// The object named by `type`.
    fn typed_object(&self) -> Value {
        match self {
            Self::Text { body, preview_url, .. } => json!({ "preview_url": preview_url, "body": body }),
            Self::Template { name, language, components, .. } => {
                let mut template = json!({ "name": name, "language": { "code": language } });
                if !is_empty_components(components) {
                    template["components"] = components.clone();
                }
                template
            }
            Self::Buttons { body, buttons, .. } => json!({
                "type": "button",
                "body": { "text": body },
                "action": {
                    "buttons": buttons
                        .iter()
                        .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
                        .collect::<Vec<_>>(),
                },
            }),
            Self::List { body, button_text, sections, .. } => json!({
                "type": "list",
                "body": { "text": body },
                "action": {
                    "button": button_text,
                    "sections": sections.iter().map(section_json).collect::<Vec<_>>(),
                },
            }),
            Self::Media { kind, source, caption, filename, .. } => {
                let mut media = Map::new();
                match source {
                    MediaSource::Link(link) => media.insert("link".to_owned(), json!(link)),
                    MediaSource::Id(id) => media.insert("id".to_owned(), json!(id)),
                };
                if let Some(caption) = caption.as_ref().filter(|_| kind.takes_caption()) {
                    media.insert("caption".to_owned(), json!(caption));
                }
                if let Some(filename) = filename.as_ref().filter(|_| *kind == MediaKind::Document) {
                    media.insert("filename".to_owned(), json!(filename));
                }
                Value::Object(media)
            }
            Self::Reaction { message_id, emoji, .. } => json!({ "message_id": message_id, "emoji": emoji }),
        }
    }

    /// Checks Meta's limits; the error names the field and says what is wrong.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.to().trim().is_empty() {
            return Err(ValidationError::new("to", "the recipient (`to`) is empty"));
        }
        match self {
            Self::Text { body, reply_to, .. } => {
                text_len("body", "the message text", body, 1, MAX_TEXT_BODY_CHARS)?;
                if reply_to.as_deref().is_some_and(|r| r.trim().is_empty()) {
                    return Err(ValidationError::new("reply_to", "the quoted message id is empty"));
                }
                Ok(())
            }
            Self::Template { name, language, components, .. } => {
                TemplateName::parse(name)?;
                if language.trim().is_empty() {
                    return Err(ValidationError::new("language", "the template language (e.g. en_US) is empty"));
                }
                if !(components.is_null() || components.is_array()) {
                    return Err(ValidationError::new(
                        "components",
                        "template components must be Meta's `components` array (or null)",
                    ));
                }
                Ok(())
            }
            Self::Buttons { body, buttons, .. } => {
                text_len("body", "the message text", body, 1, MAX_INTERACTIVE_BODY_CHARS)?;
                validate_buttons(buttons)
            }
            Self::List { body, button_text, sections, .. } => {
                text_len("body", "the message text", body, 1, MAX_INTERACTIVE_BODY_CHARS)?;
                text_len("button_text", "the list button label", button_text, 1, MAX_LIST_BUTTON_CHARS)?;
                validate_sections(sections)
            }
            Self::Media { kind, source, caption, filename, .. } => {
                match source {
                    MediaSource::Link(link) if !(link.starts_with("https://") || link.starts_with("http://")) => {
                        return Err(ValidationError::new("link", "a media link must be an http:// or https:// URL"));
                    }
                    MediaSource::Id(id) if id.trim().is_empty() => {
                        return Err(ValidationError::new("id", "the media id is empty"));
                    }
                    _ => {}
                }
                if let Some(caption) = caption {
                    if !kind.takes_caption() {
                        return Err(ValidationError::new(
                            "caption",
                            format!("WhatsApp shows no caption on {} messages", kind.as_str()),
                        ));
                    }
                    text_len("caption", "the caption", caption, 0, MAX_CAPTION_CHARS)?;
                }
                if filename.is_some() && *kind != MediaKind::Document {
                    return Err(ValidationError::new("filename", "only documents carry a file name"));
                }
                Ok(())
            }
            Self::Reaction { message_id, .. } => {
                if message_id.trim().is_empty() {
                    return Err(ValidationError::new("message_id", "the message to react to (wamid) is empty"));
                }
                Ok(())
            }
        }
    }
}

fn is_empty_components(components: &Value) -> bool {
    match components {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn section_json(section: &ListSection) -> Value {
    let rows: Vec<Value> = section
        .rows
        .iter()
        .map(|row| {
            let mut r = json!({ "id": row.id, "title": row.title });
            if let Some(description) = &row.description {
                r["description"] = json!(description);
            }
            r
        })
        .collect();
    let mut s = json!({ "rows": rows });
    if let Some(title) = &section.title {
        s["title"] = json!(title);
    }
    s
}

/// `value` must have `min..=max` characters.
fn text_len(field: &'static str, what: &str, value: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if min > 0 && value.trim().is_empty() {
        return Err(ValidationError::new(field, format!("{what} is empty")));
    }
    if n > max {
        return Err(ValidationError::new(field, format!("{what} has {n} characters; WhatsApp allows at most {max}")));
    }
    Ok(())
}

fn validate_buttons(buttons: &[ReplyButton]) -> Result<(), ValidationError> {
    if buttons.is_empty() || buttons.len() > MAX_REPLY_BUTTONS {
        return Err(ValidationError::new(
            "buttons",
            format!("a buttons message has 1 to {MAX_REPLY_BUTTONS} buttons, not {}", buttons.len()),
        ));
    }
    let (mut ids, mut titles) = (HashSet::new(), HashSet::new());
    for (i, button) in buttons.iter().enumerate() {
        let n = i + 1;
        text_len("buttons", &format!("button {n}'s title"), &button.title, 1, MAX_BUTTON_TITLE_CHARS)?;
        text_len("buttons", &format!("button {n}'s id"), &button.id, 1, MAX_BUTTON_ID_CHARS)?;
        if button.id.trim() != button.id {
            return Err(ValidationError::new("buttons", format!("button {n}'s id starts or ends with a space")));
        }
        if !ids.insert(button.id.as_str()) {
            return Err(ValidationError::new("buttons", format!("button id {:?} is used twice", button.id)));
        }
        if !titles.insert(button.title.as_str()) {
            return Err(ValidationError::new("buttons", format!("button title {:?} is used twice", button.title)));
        }
    }
    Ok(())
}

fn validate_sections(sections: &[ListSection]) -> Result<(), ValidationError> {
    if sections.is_empty() || sections.len() > MAX_LIST_SECTIONS {
        return Err(ValidationError::new(
            "sections",
            format!("a list has 1 to {MAX_LIST_SECTIONS} sections, not {}", sections.len()),
        ));
    }
    let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
    if rows == 0 || rows > MAX_LIST_ROWS {
        return Err(ValidationError::new(
            "sections",
            format!("a list has 1 to {MAX_LIST_ROWS} rows in all its sections, not {rows}"),
        ));
    }
    let mut ids = HashSet::new();
    for (i, section) in sections.iter().enumerate() {
        let s = i + 1;
        match &section.title {
            Some(title) => text_len("sections", &format!("section {s}'s title"), title, 1, MAX_SECTION_TITLE_CHARS)?,
            None if sections.len() > 1 => {
                return Err(ValidationError::new(
                    "sections",
                    format!("section {s} has no title; every section needs one when there are several"),
                ));
            }
            None => {}
        }
        for (j, row) in section.rows.iter().enumerate() {
            let what = format!("section {s} row {}", j + 1);
            text_len("sections", &format!("{what}'s title"), &row.title, 1, MAX_ROW_TITLE_CHARS)?;
            text_len("sections", &format!("{what}'s id"), &row.id, 1, MAX_ROW_ID_CHARS)?;
            if let Some(description) = &row.description {
                text_len("sections", &format!("{what}'s description"), description, 0, MAX_ROW_DESCRIPTION_CHARS)?;
            }
            if !ids.insert(row.id.as_str()) {
                return Err(ValidationError::new("sections", format!("row id {:?} is used twice", row.id)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "16505551234";

    fn text(body: &str) -> OutboundMessage {
        OutboundMessage::Text { to: TO.into(), body: body.into(), reply_to: None, preview_url: false }
    }

    fn button(id: &str, title: &str) -> ReplyButton {
        ReplyButton { id: id.into(), title: title.into() }
    }

    fn row(id: &str, title: &str) -> ListRow {
        ListRow { id: id.into(), title: title.into(), description: None }
    }

    fn media(kind: MediaKind, source: MediaSource) -> OutboundMessage {
        OutboundMessage::Media { to: TO.into(), kind, source, caption: None, filename: None }
    }

    /// Bodies are compared against the request examples of Meta's message docs, with the
    /// placeholders filled in.
    #[test]
    fn text_body_matches_meta() {
        let reply = OutboundMessage::Text {
            to: TO.into(),
            body: "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/".into(),
            reply_to: Some("wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA".into()),
            preview_url: true,
        };
        reply.validate().expect("valid");
        assert_eq!(
            reply.to_request_body(),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "context": { "message_id": "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA" },
                "type": "text",
                "text": {
                    "preview_url": true,
                    "body": "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/"
                }
            })
        );
        assert_eq!(
            text("Hello").to_request_body(),
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
                   "type": "text", "text": {"preview_url": false, "body": "Hello"}})
        );
    }

    #[test]
    fn template_body_matches_meta() {
        let components = json!([
            { "type": "header", "parameters": [{ "type": "image", "image": { "link": "https://example.com/banner.png" } }] },
            { "type": "body", "parameters": [
                { "type": "text", "text": "Pablo" },
                { "type": "currency", "currency": { "fallback_value": "$100.99", "code": "USD", "amount_1000": 100990 } }
            ] },
            { "type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{ "type": "payload", "payload": "STOP" }] }
        ]);
        let message = OutboundMessage::Template {
            to: TO.into(),
            name: "order_delivery_update".into(),
            language: "en_US".into(),
            components: components.clone(),
        };
        message.validate().expect("valid");
        assert!(message.allowed_outside_window());
        assert_eq!(
            message.to_request_body(),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "type": "template",
                "template": { "name": "order_delivery_update", "language": { "code": "en_US" }, "components": components }
            })
        );
        let bare = OutboundMessage::Template {
            to: TO.into(),
            name: "hello_world".into(),
            language: "en_US".into(),
            components: Value::Null,
        };
        assert_eq!(
            bare.to_request_body()["template"],
            json!({ "name": "hello_world", "language": { "code": "en_US" } })
        );
    }

    #[test]
    fn buttons_body_matches_meta() {
        let message = OutboundMessage::Buttons {
            to: TO.into(),
            body: "Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow. Use the buttons if you need to reschedule. Thank you!".into(),
            buttons: vec![button("change-button", "Change"), button("cancel-button", "Cancel")],
        };
        message.validate().expect("valid");
        assert!(!message.allowed_outside_window());
        assert_eq!(
            message.to_request_body(),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": { "text": "Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow. Use the buttons if you need to reschedule. Thank you!" },
                    "action": { "buttons": [
                        { "type": "reply", "reply": { "id": "change-button", "title": "Change" } },
                        { "type": "reply", "reply": { "id": "cancel-button", "title": "Cancel" } }
                    ] }
                }
            })
        );
    }

    #[test]
    fn list_body_matches_meta() {
        let message = OutboundMessage::List {
            to: TO.into(),
            body: "Which shipping option do you prefer?".into(),
            button_text: "Shipping Options".into(),
            sections: vec![
                ListSection {
                    title: Some("I want it ASAP!".into()),
                    rows: vec![
                        ListRow {
                            id: "priority_express".into(),
                            title: "Priority Mail Express".into(),
                            description: Some("Next Day to 2 Days".into()),
                        },
                        ListRow {
                            id: "priority_mail".into(),
                            title: "Priority Mail".into(),
                            description: Some("1–3 Days".into()),
                        },
                    ],
                },
                ListSection {
                    title: Some("I can wait a bit".into()),
                    rows: vec![row("ground_advantage", "USPS Ground Advantage")],
                },
            ],
        };
        message.validate().expect("valid");
        assert_eq!(
            message.to_request_body(),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "type": "interactive",
                "interactive": {
                    "type": "list",
                    "body": { "text": "Which shipping option do you prefer?" },
                    "action": {
                        "button": "Shipping Options",
                        "sections": [
                            { "title": "I want it ASAP!", "rows": [
                                { "id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days" },
                                { "id": "priority_mail", "title": "Priority Mail", "description": "1–3 Days" }
                            ] },
                            { "title": "I can wait a bit", "rows": [
                                { "id": "ground_advantage", "title": "USPS Ground Advantage" }
                            ] }
                        ]
                    }
                }
            })
        );
    }

    #[test]
    fn media_bodies_match_meta() {
        let document = OutboundMessage::Media {
            to: TO.into(),
            kind: MediaKind::Document,
            source: MediaSource::Id("1013859600285441".into()),
            caption: Some("Lucky Shrub Invoice".into()),
            filename: Some("lucky-shrub-invoice.pdf".into()),
        };
        document.validate().expect("valid");
        assert_eq!(
            document.to_request_body(),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "type": "document",
                "document": { "id": "1013859600285441", "caption": "Lucky Shrub Invoice", "filename": "lucky-shrub-invoice.pdf" }
            })
        );
        let image = OutboundMessage::Media {
            to: TO.into(),
            kind: MediaKind::Image,
            source: MediaSource::Link("https://example.com/images/lucky-shrub.png".into()),
            caption: Some("The best succulent ever?".into()),
            filename: None,
        };
        image.validate().expect("valid");
        assert_eq!(
            image.to_request_body(),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "type": "image",
                "image": { "link": "https://example.com/images/lucky-shrub.png", "caption": "The best succulent ever?" }
            })
        );
        for (kind, name) in [(MediaKind::Audio, "audio"), (MediaKind::Video, "video"), (MediaKind::Sticker, "sticker")]
        {
            let body = media(kind, MediaSource::Id("1013859600285441".into())).to_request_body();
            assert_eq!(body["type"], name);
            assert_eq!(body[name], json!({ "id": "1013859600285441" }));
        }
    }

    #[test]
    fn reaction_body_matches_meta() {
        let message = OutboundMessage::Reaction {
            to: TO.into(),
            message_id: "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=".into(),
            emoji: "😀".into(),
        };
        message.validate().expect("valid");
        assert_eq!(
            message.to_request_body(),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "type": "reaction",
                "reaction": { "message_id": "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", "emoji": "😀" }
            })
        );
        let remove = OutboundMessage::Reaction { to: TO.into(), message_id: "wamid.X".into(), emoji: String::new() };
        remove.validate().expect("an empty emoji removes a reaction");
    }

    #[test]
    fn round_trips_through_serde_for_the_outbox() {
        let message = OutboundMessage::Buttons { to: TO.into(), body: "Pick".into(), buttons: vec![button("a", "A")] };
        let stored = serde_json::to_value(&message).expect("serialises");
        assert_eq!(stored["message"], "buttons");
        assert_eq!(serde_json::from_value::<OutboundMessage>(stored).expect("deserialises"), message);
    }

    fn refused(message: &OutboundMessage) -> ValidationError {
        message.validate().expect_err("refused")
    }

    #[test]
    fn text_limits() {
        assert!(text(&"é".repeat(MAX_TEXT_BODY_CHARS)).validate().is_ok());
        let long = refused(&text(&"é".repeat(MAX_TEXT_BODY_CHARS + 1)));
        assert_eq!(long.field, "body");
        assert!(long.message.contains("4097") && long.message.contains("4096"), "{}", long.message);
        assert_eq!(refused(&text("  \n")).field, "body");
        let nobody = OutboundMessage::Text { to: " ".into(), body: "x".into(), reply_to: None, preview_url: false };
        assert_eq!(refused(&nobody).field, "to");
        let empty_reply = OutboundMessage::Text {
            to: TO.into(),
            body: "x".into(),
            reply_to: Some(String::new()),
            preview_url: false,
        };
        assert_eq!(refused(&empty_reply).field, "reply_to");
    }

    #[test]
    fn button_limits() {
        let buttons =
            |b: Vec<ReplyButton>| OutboundMessage::Buttons { to: TO.into(), body: "Pick one".into(), buttons: b };
        assert!(buttons(vec![button("1", &"x".repeat(20)), button("2", "b"), button("3", "c")]).validate().is_ok());
        let cases = [
            (vec![], "1 to 3 buttons"),
            (vec![button("1", "a"), button("2", "b"), button("3", "c"), button("4", "d")], "not 4"),
            (vec![button("1", &"x".repeat(21))], "21 characters"),
            (vec![button("1", "")], "title is empty"),
            (vec![button(&"i".repeat(257), "a")], "257 characters"),
            (vec![button(" 1", "a")], "space"),
            (vec![button("1", "a"), button("1", "b")], "used twice"),
            (vec![button("1", "a"), button("2", "a")], "used twice"),
        ];
        for (b, expected) in cases {
            let err = refused(&buttons(b));
            assert_eq!(err.field, "buttons");
            assert!(err.message.contains(expected), "{} / {expected}", err.message);
        }
        let long_body =
            OutboundMessage::Buttons { to: TO.into(), body: "b".repeat(1025), buttons: vec![button("1", "a")] };
        assert_eq!(refused(&long_body).field, "body");
    }

    #[test]
    fn list_limits() {
        let list = |sections: Vec<ListSection>| OutboundMessage::List {
            to: TO.into(),
            body: "Choose".into(),
            button_text: "Options".into(),
            sections,
        };
        let section = |title: Option<&str>, rows: Vec<ListRow>| ListSection { title: title.map(str::to_owned), rows };
        let ten: Vec<ListRow> = (0..10).map(|i| row(&format!("r{i}"), "Row")).collect();
        assert!(list(vec![section(None, ten.clone())]).validate().is_ok());
        let mut eleven = ten.clone();
        eleven.push(row("r10", "Row"));
        let long_description = vec![ListRow { id: "a".into(), title: "A".into(), description: Some("d".repeat(73)) }];
        let cases = [
            (vec![], "1 to 10 sections"),
            (vec![section(None, eleven)], "not 11"),
            (vec![section(None, vec![])], "not 0"),
            (
                vec![section(None, vec![row("a", "A")]), section(Some("S"), vec![row("b", "B")])],
                "section 1 has no title",
            ),
            (vec![section(Some(&"s".repeat(25)), vec![row("a", "A")])], "25 characters"),
            (vec![section(None, vec![row("a", &"t".repeat(25))])], "25 characters"),
            (vec![section(None, vec![row(&"i".repeat(201), "A")])], "201 characters"),
            (vec![section(None, long_description)], "73 characters"),
            (vec![section(Some("S"), vec![row("a", "A")]), section(Some("T"), vec![row("a", "B")])], "used twice"),
        ];
        for (sections, expected) in cases {
            let err = refused(&list(sections));
            assert_eq!(err.field, "sections");
            assert!(err.message.contains(expected), "{} / {expected}", err.message);
        }
        let long_button = OutboundMessage::List {
            to: TO.into(),
            body: "Choose".into(),
            button_text: "b".repeat(21),
            sections: vec![section(None, vec![row("a", "A")])],
        };
        assert_eq!(refused(&long_button).field, "button_text");
    }

    #[test]
    fn media_limits() {
        let with = |kind, caption: Option<&str>, filename: Option<&str>| OutboundMessage::Media {
            to: TO.into(),
            kind,
            source: MediaSource::Link("https://example.com/a".into()),
            caption: caption.map(str::to_owned),
            filename: filename.map(str::to_owned),
        };
        assert_eq!(refused(&with(MediaKind::Audio, Some("no"), None)).field, "caption");
        assert_eq!(refused(&with(MediaKind::Sticker, Some("no"), None)).field, "caption");
        assert_eq!(refused(&with(MediaKind::Image, None, Some("a.png"))).field, "filename");
        assert_eq!(refused(&with(MediaKind::Video, Some(&"c".repeat(1025)), None)).field, "caption");
        assert!(with(MediaKind::Video, Some(&"c".repeat(1024)), None).validate().is_ok());
        assert_eq!(refused(&media(MediaKind::Image, MediaSource::Link("ftp://x/a.png".into()))).field, "link");
        assert_eq!(refused(&media(MediaKind::Image, MediaSource::Id(" ".into()))).field, "id");
    }

    #[test]
    fn template_and_reaction_limits() {
        let template = |name: &str, language: &str, components: Value| OutboundMessage::Template {
            to: TO.into(),
            name: name.into(),
            language: language.into(),
            components,
        };
        assert_eq!(refused(&template("Order Update", "en", Value::Null)).field, "template");
        assert_eq!(refused(&template("order_update", "", Value::Null)).field, "language");
        assert_eq!(refused(&template("order_update", "en", json!({"type": "body"}))).field, "components");
        let reaction = OutboundMessage::Reaction { to: TO.into(), message_id: "".into(), emoji: "👍".into() };
        assert_eq!(refused(&reaction).field, "message_id");
    }
}
