//! confab's vocabulary as pure types and rules (DESIGN §1).
//!
//! This crate owns ids, the parsing constructors that reject bad values, and the small rules
//! that hold everywhere (the 24-hour window, forward-only delivery status, money in micro-USD).
//! It does no I/O: no tokio, no sqlx, no axum. Randomness and clocks are passed in.

pub mod api_key;
pub mod assistant;
pub mod availability;
pub mod booking;
pub mod channel;
pub mod conversation;
pub mod cost;
pub mod customer;
pub mod data_field;
pub mod delivery;
pub mod extraction;
pub mod http_tool;
pub mod id;
pub mod inbound;
pub mod knowledge;
pub mod message;
pub mod parameter_schema;
pub mod phone;
pub mod secret;
pub mod sender;
pub mod template;
pub mod timezone;
pub mod tool;
pub mod user;
pub mod validation;
pub mod window;
pub mod workspace;

pub use api_key::{ApiKey, ApiKeySecret};
pub use assistant::{AfterEnd, Assistant, InactivityTimeout, ResponseDelay, Temperature};
pub use availability::{Availability, Slot};
pub use booking::{Booking, BookingStatus};
pub use channel::{ConversationType, Provider};
pub use conversation::{Conversation, ConversationStatus, ExtractionStatus};
pub use cost::{MicroUsd, Usage};
pub use customer::{Customer, CustomerIdentity};
pub use data_field::{DataField, DataFieldType};
pub use delivery::{DeliveryError, DeliveryStatus};
pub use http_tool::{HttpMethod, HttpTool, HttpToolDefinition, HttpToolHeaders, HttpToolTimeout, UrlTemplate};
pub use id::*;
pub use inbound::{InboundMessage, IngestOutcome};
pub use knowledge::{Document, DocumentFormat, DocumentStatus, KnowledgeBase, KnowledgeMode, Passage};
pub use message::{Message, MessageKind, Role};
pub use parameter_schema::ParameterSchema;
pub use phone::PhoneNumber;
pub use secret::Secret;
pub use sender::{Sender, SenderStatus};
pub use template::{
    parameter_count, parse_template_language, parse_twilio_content_sid, Template, TemplateCategory, TemplateName,
    TemplateStatus,
};
pub use tool::{ToolCall, ToolName};
pub use user::{Email, User, UserRole};
pub use validation::ValidationError;
pub use window::{ServiceWindow, SessionStatus, WindowState};
pub use workspace::Workspace;
