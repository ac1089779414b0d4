//! The shapes of the API's answers, as the OpenAPI document describes them. Handlers build
//! their JSON with `json!` (see `conversation_json.rs`, `assistant_json`, `sender_json`…); these
//! types only document it, field for field. schemathesis (`.ci/schemathesis`) checks every real
//! answer against them, so a field added to a handler's JSON but not here fails CI.
//!
//! Ids are UUID strings; times are RFC 3339 strings; money is in micro-units of the workspace's
//! currency (`*_micros`).

// documentation only: the fields are read by utoipa's derive, never by code
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Every error: a stable machine code, a sentence for people, and the request id to quote.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// `unauthorized`, `not_found`, `bad_request`, `validation_failed`, `rate_limited`,
    /// `internal`, or a conflict's own code (`window_closed`, `assistant_in_use`, …).
    pub error: String,
    pub message: String,
    pub request_id: String,
    /// With `validation_failed`: each bad field's message.
    pub fields: Option<BTreeMap<String, String>>,
    /// With some conflicts: more about them (e.g. `{"session_status": …}` with `window_closed`).
    pub details: Option<Value>,
}

/// 422 `validation_failed`: every bad field with its message, so one answer lists them all.
#[derive(Serialize, ToSchema)]
pub struct ValidationErrorBody {
    /// Always `validation_failed`.
    pub error: String,
    pub message: String,
    pub request_id: String,
    /// Field name → what is wrong with it (`body` when the body as a whole has the wrong shape).
    pub fields: BTreeMap<String, String>,
}

/// `GET /readyz`.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
}

#[derive(Serialize, ToSchema)]
pub struct Workspace {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeySummary {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
}

/// `GET /api/v1/whoami`.
#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub workspace: Workspace,
    pub api_key: ApiKeySummary,
}

#[derive(Serialize, ToSchema)]
pub struct Assistant {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub system_prompt: String,
    pub first_message: Option<String>,
    pub fallback_message: Option<String>,
    pub response_delay_ms: i64,
    pub inactivity_timeout_minutes: i64,
    pub timezone: String,
    /// `openai`, `anthropic` or a provider configured in `llm_providers`; `null` for the
    /// server's default.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub tools: Vec<String>,
    #[schema(value_type = Vec<String>)]
    pub knowledge_base_ids: Vec<String>,
    /// What to extract from ended conversations, besides `status` and `summary`.
    pub extraction_schema: ExtractionSchema,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// `tool` (the model searches the knowledge bases when it needs to) or `prompt` (the best
    /// passages go into the prompt of every turn).
    #[schema(value_type = KnowledgeMode)]
    pub knowledge_mode: String,
    /// What a customer message after the conversation ended does.
    #[schema(value_type = AfterEnd)]
    pub after_end: String,
    /// The fields the `collect_data` tool asks the customer for.
    pub data_fields: Vec<DataField>,
    /// When `schedule_appointment` may book; `null`: the assistant takes no appointments.
    pub availability: Option<Availability>,
}

/// `{"fields": [...]}`: the fields to pull out of an ended conversation (`{}` for only
/// `status` and `summary`, which are always extracted).
#[derive(Serialize, ToSchema)]
pub struct ExtractionSchema {
    #[serde(default)]
    #[schema(max_items = 30)]
    pub fields: Vec<ExtractionField>,
}

#[derive(Serialize, ToSchema)]
pub struct ExtractionField {
    /// 1 to 64 of a-z, 0-9 and `_`.
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ExtractionFieldType,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtractionFieldType {
    String,
    Number,
    Integer,
    Boolean,
}

/// One field `collect_data` asks for. `min`/`max` bound a number's value or a string's
/// length; `pattern` (a regular expression) applies to strings, `options` to enums only.
#[derive(Serialize, ToSchema)]
pub struct DataField {
    /// It becomes a variable name: 1 to 40 of a-z, 0-9 and `_`, starting with a letter.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DataFieldType,
    #[schema(max_length = 300)]
    pub description: Option<String>,
    pub required: Option<bool>,
    #[schema(max_items = 50)]
    pub options: Option<Vec<String>>,
    #[schema(max_length = 200)]
    pub pattern: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataFieldType {
    String,
    Number,
    Integer,
    Boolean,
    Email,
    Phone,
    Date,
    Enum,
}

/// When an assistant takes appointments: working hours per weekday (`mon` … `sun`, each a
/// list of `["HH:MM", "HH:MM"]` intervals), the slot length, the time zone (`null`: the
/// assistant's) and how many days ahead customers may book (`null`: no limit).
#[derive(Serialize, ToSchema)]
pub struct Availability {
    #[schema(value_type = Object)]
    pub working_hours: BTreeMap<String, Vec<[String; 2]>>,
    #[schema(minimum = 5, maximum = 480)]
    pub slot_minutes: Option<i64>,
    pub timezone: Option<String>,
    #[schema(minimum = 1, maximum = 730)]
    pub horizon_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KnowledgeMode {
    Tool,
    Prompt,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AfterEnd {
    NewConversation,
    Reopen,
}

#[derive(Serialize, ToSchema)]
pub struct AssistantList {
    pub items: Vec<Assistant>,
}

/// A WhatsApp number. The access token is write-only: no answer contains it.
#[derive(Serialize, ToSchema)]
pub struct Sender {
    #[schema(format = Uuid)]
    pub id: String,
    /// `meta` or `twilio`.
    pub provider: String,
    /// Meta's phone number id, or the Twilio number.
    pub phone_number_id: String,
    pub display_phone_number: String,
    #[schema(format = Uuid)]
    pub assistant_id: String,
    pub ai_enabled: bool,
    /// `online`, `offline` or `needs_attention`.
    pub status: String,
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SenderList {
    pub items: Vec<Sender>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerSummary {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// The external identifier (API conversations) or Meta's business-scoped user id.
    pub identifier: Option<String>,
}

/// WhatsApp's 24-hour customer service window, as of the answer.
#[derive(Serialize, ToSchema)]
pub struct WindowSummary {
    pub is_open: bool,
    /// When an open window closes, or when a closed one closed (`null`: never opened).
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// A conversation as the list, the detail and the export carry it.
#[derive(Serialize, ToSchema)]
pub struct Conversation {
    #[schema(format = Uuid)]
    pub id: String,
    /// `whatsapp`, `api` or `test`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `active` or `ended`.
    pub status: String,
    #[schema(format = Uuid)]
    pub assistant_id: String,
    #[schema(format = Uuid)]
    pub sender_id: Option<String>,
    pub customer: CustomerSummary,
    /// `false` while a person has taken over.
    pub ai_enabled: bool,
    pub message_count: i64,
    pub customer_message_count: i64,
    pub total_tokens: i64,
    pub total_cost_micros: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_message_at: String,
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    #[schema(value_type = Object)]
    pub variables: BTreeMap<String, Value>,
    /// What post-conversation extraction found (`status`, `summary` and the schema's
    /// fields); empty until it ran.
    #[schema(value_type = Object)]
    pub extracted: BTreeMap<String, Value>,
    #[schema(value_type = ExtractionStatus)]
    pub extraction_status: String,
    pub window: WindowSummary,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtractionStatus {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

/// An appointment `schedule_appointment` booked in a conversation.
#[derive(Serialize, ToSchema)]
pub struct Booking {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub assistant_id: String,
    /// `booked` or `cancelled` (a cancelled booking frees its slot).
    pub status: String,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub customer_name: Option<String>,
    pub notes: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationPage {
    pub items: Vec<Conversation>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// One conversation with its messages (the newest 1000, oldest first).
#[derive(Serialize, ToSchema)]
pub struct ConversationDetail {
    #[schema(inline)]
    #[serde(flatten)]
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    pub bookings: Vec<Booking>,
}

/// A tool the assistant called, with what it answered.
#[derive(Serialize, ToSchema)]
pub struct FunctionCall {
    pub name: String,
    pub arguments: Value,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// Why the provider did not deliver a message.
#[derive(Serialize, ToSchema)]
pub struct DeliveryError {
    /// The provider's code, e.g. Meta `131047` or Twilio `63016`.
    pub code: Option<i64>,
    pub title: String,
    pub details: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Usage {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Message {
    #[schema(format = Uuid)]
    pub id: String,
    /// `user`, `assistant`, `agent`, `tool` or `system`.
    pub role: String,
    /// `text`, `image`, `template`, … (what kind of WhatsApp message).
    #[serde(rename = "type")]
    pub kind: String,
    pub content: String,
    /// Provider-specific detail (media, template parameters, …); `null` when none.
    pub payload: Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub sent_at: String,
    /// Delivery status: `received`, `pending`, `sent`, `delivered`, `read`, `failed`, ….
    pub status: String,
    pub provider_message_id: Option<String>,
    pub error: Option<DeliveryError>,
    pub reply_to: Option<String>,
    pub forwarded: bool,
    /// For `tool` messages: the call and its result.
    pub function_calls: Vec<FunctionCall>,
    pub usage: Option<Usage>,
    pub cost_micros: i64,
}

/// The answer to a message posted to an API conversation (`POST …/messages`,
/// `POST /generate-reply`). 200: the turn finished (`reply` and the messages it produced), or
/// the AI is off (`ai_disabled: true`, no reply), or the message was a retry
/// (`duplicate: true`). 202: the turn is still running; poll `poll`.
#[derive(Serialize, ToSchema)]
pub struct Reply {
    #[schema(format = Uuid)]
    pub conversation_id: String,
    /// The stored caller's message (absent for a duplicate).
    #[schema(format = Uuid)]
    pub message_id: Option<String>,
    /// The assistant's answer, its parts joined by blank lines; `null` when there is none.
    pub reply: Option<String>,
    /// The messages the turn produced, after the caller's.
    pub messages: Option<Vec<Message>>,
    pub function_calls: Option<Vec<FunctionCall>>,
    pub cost_micros: Option<i64>,
    /// `true` when a person has taken over (no reply is generated).
    pub ai_disabled: Option<bool>,
    /// `true` when this `Idempotency-Key` was seen before: nothing was stored again.
    pub duplicate: Option<bool>,
    /// `pending` in a 202 answer.
    pub status: Option<String>,
    /// Where to read the conversation, in 202 and duplicate answers.
    pub poll: Option<String>,
}

/// Messages accepted for sending; the outbox delivers them.
#[derive(Serialize, ToSchema)]
pub struct Queued {
    #[schema(format = Uuid)]
    pub conversation_id: String,
    #[schema(value_type = Vec<String>)]
    pub message_ids: Vec<String>,
    /// `queued` (WhatsApp sends).
    pub status: Option<String>,
}

/// `GET /api/v1/whatsapp/session-status`: may a free-form message be sent now?
#[derive(Serialize, ToSchema)]
pub struct SessionStatus {
    pub is_open: bool,
    pub can_send_freeform: bool,
    pub requires_template: bool,
    /// When the open window closes.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// When the window closed (absent if it never opened).
    #[schema(format = DateTime)]
    pub expired_at: Option<String>,
    pub minutes_remaining: i64,
    /// A sentence for people.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResponseTimes {
    /// How many response times were measured.
    pub count: i64,
    pub average: Option<f64>,
    pub p90: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DailyMetrics {
    #[schema(format = Date)]
    pub date: String,
    pub conversations: i64,
    pub messages: i64,
    pub cost_micros: i64,
}

/// `GET /api/v1/metrics`: the range used, and the metrics of the conversations in it.
#[derive(Serialize, ToSchema)]
pub struct Metrics {
    #[schema(format = DateTime)]
    pub from: Option<String>,
    #[schema(format = DateTime)]
    pub to: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[schema(format = Uuid)]
    pub assistant_id: Option<String>,
    pub total_conversations: i64,
    pub active_conversations: i64,
    pub total_messages: i64,
    pub customer_messages: i64,
    pub answered_customer_messages: i64,
    pub messages_per_conversation: Option<f64>,
    /// Answered customer messages over customer messages.
    pub response_rate: Option<f64>,
    pub response_time_ms: ResponseTimes,
    pub total_cost_micros: i64,
    pub cost_per_conversation_micros: Option<i64>,
    pub avg_llm_latency_ms: Option<f64>,
    pub llm_failures: i64,
    pub timeouts: i64,
    pub failed_deliveries: i64,
    pub daily: Vec<DailyMetrics>,
}

/// A webhook payload confab kept without acting on it. `body` is `{"json": …}` when the
/// payload was JSON, else `{"text": …}`.
#[derive(Serialize, ToSchema)]
pub struct WebhookEvent {
    #[schema(format = Uuid)]
    pub id: String,
    /// `meta` or `twilio`.
    pub provider: String,
    /// `event`, `unrouted` or `dead_letter`.
    pub kind: String,
    pub field: Option<String>,
    pub phone_number_id: Option<String>,
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub body: BTreeMap<String, Value>,
    #[schema(format = DateTime)]
    pub received_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookEventList {
    pub items: Vec<WebhookEvent>,
}

/// The closed sets of words request fields and parameters take, so generated clients and
/// schemathesis send valid ones.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationType {
    Whatsapp,
    Api,
    Test,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiConversationType {
    Api,
    Test,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Active,
    Ended,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LlmProvider {
    Openai,
    Anthropic,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhatsappProvider {
    Meta,
    Twilio,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SenderStatus {
    Online,
    Offline,
    NeedsAttention,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEventKind {
    Event,
    Unrouted,
    DeadLetter,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportLevel {
    Conversation,
    Message,
}

#[derive(Serialize, ToSchema)]
pub struct KnowledgeBase {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct KnowledgeBaseList {
    pub items: Vec<KnowledgeBase>,
}

/// A passage a knowledge base search found, best first.
#[derive(Serialize, ToSchema)]
pub struct Passage {
    #[schema(format = Uuid)]
    pub knowledge_base_id: String,
    #[schema(format = Uuid)]
    pub document_id: String,
    pub document_title: String,
    /// The Markdown headings the passage sits under (`Shipping > Returns`), or empty.
    pub heading: String,
    pub text: String,
    /// Higher is better.
    pub score: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PassageList {
    pub items: Vec<Passage>,
}

#[derive(Serialize, ToSchema)]
pub struct Document {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub knowledge_base_id: String,
    pub title: String,
    /// `txt` or `md`.
    pub format: String,
    /// `pending`, `processing`, `ready` or `failed`.
    pub status: String,
    /// How many passages it was split into.
    pub chunk_count: i64,
    pub content_chars: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentList {
    pub items: Vec<Document>,
}

/// One document with its text.
#[derive(Serialize, ToSchema)]
pub struct DocumentWithContent {
    #[schema(inline)]
    #[serde(flatten)]
    pub document: Document,
    pub content: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    Txt,
    Md,
}

/// A workspace HTTP tool the assistant may call. Header values are write-only: each header
/// is shown by name with `"***"`.
#[derive(Serialize, ToSchema)]
pub struct HttpTool {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub description: String,
    #[schema(value_type = HttpMethod)]
    pub method: String,
    /// The URL template; `{name}` is filled with the argument of that name.
    pub url: String,
    #[schema(value_type = Object)]
    pub headers: BTreeMap<String, String>,
    /// A JSON Schema object of the tool's arguments.
    pub parameters: Value,
    pub timeout_secs: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct HttpToolList {
    pub items: Vec<HttpTool>,
}

#[derive(Serialize, ToSchema)]
pub enum HttpMethod {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "PATCH")]
    Patch,
    #[serde(rename = "DELETE")]
    Delete,
}

/// A model's token prices, in micro-USD per million tokens.
#[derive(Serialize, ToSchema)]
pub struct ModelPrice {
    #[schema(minimum = 0)]
    pub input_per_million: i64,
    #[schema(minimum = 0)]
    pub cached_input_per_million: i64,
    #[schema(minimum = 0)]
    pub output_per_million: i64,
}

/// Fees per message, by channel and kind, in micro-USD.
#[derive(Serialize, ToSchema)]
pub struct ChannelFees {
    #[schema(minimum = 0)]
    pub whatsapp_inbound: i64,
    #[schema(minimum = 0)]
    pub whatsapp_session_outbound: i64,
    #[schema(minimum = 0)]
    pub whatsapp_template_marketing: i64,
    #[schema(minimum = 0)]
    pub whatsapp_template_utility: i64,
    #[schema(minimum = 0)]
    pub whatsapp_template_authentication: i64,
    #[schema(minimum = 0)]
    pub twilio_per_message: i64,
    #[schema(minimum = 0)]
    pub widget: i64,
    #[schema(minimum = 0)]
    pub api: i64,
}

/// The prices every turn's cost is computed with.
#[derive(Serialize, ToSchema)]
pub struct PriceTable {
    /// Model name (or name prefix) → prices.
    pub models: BTreeMap<String, ModelPrice>,
    pub channel_fees: ChannelFees,
    /// `false` while the built-in defaults are in force.
    pub customized: bool,
}
