//! Realistic seeded history for `confab bench seed`, generated in batches of whole
//! conversations: customers with E.164 numbers and names, conversations of every type
//! (WhatsApp mostly, then web widget, API and test) spread evenly over the last 90 days,
//! customer and assistant messages alternating with plausible text, tool calls now and then,
//! tokens, costs, response and model latencies, and WhatsApp delivery statuses including
//! failures with Meta's error text.
//!
//! Deterministic for a given plan (a cheap hash of the indices stands in for randomness), apart
//! from the random bits of the ids. Ids are UUID v7 stamped with the row's own time, so rows
//! arrive roughly in index order and the B-trees grow at their right edge.

use confab_domain::{
    AssistantId, ConversationId, ConversationStatus, ConversationType, CustomerId, DeliveryError, DeliveryStatus,
    MessageKind, MicroUsd, PhoneNumber, Role, SenderId, ToolCall, Usage, WorkspaceId,
};
use confab_storage::{SeedBatch, SeedConversation, SeedCustomer, SeedMessage};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// What to generate, and the configuration it hangs off.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    pub conversations: u64,
    /// Average messages per conversation (each gets between half and one and a half times it).
    pub messages_per: u32,
    pub now: OffsetDateTime,
    pub workspace_id: WorkspaceId,
    /// Assistants for widget, API and test conversations.
    pub assistants: Vec<AssistantId>,
    /// WhatsApp numbers and the assistant each is linked to.
    pub senders: Vec<(SenderId, AssistantId)>,
    /// Makes provider message ids unique to this run.
    pub run: String,
}

const HISTORY: Duration = Duration::days(90);
/// The newest conversation starts this long before now.
const NEWEST: Duration = Duration::minutes(3);
/// Conversations whose last message is this recent stay active; older ones have ended.
const ACTIVE_WINDOW: Duration = Duration::minutes(30);
/// Share of conversations (percent) started by a customer seen before.
const RETURNING_PERCENT: u64 = 35;

/// Generates batches in order; keeps only the number of customers made so far.
pub struct SeedGenerator {
    plan: SeedPlan,
    next_conversation: u64,
    /// The id of every customer made so far, by index.
    customers: Vec<CustomerId>,
    messages: u64,
}

impl SeedGenerator {
    pub fn new(plan: SeedPlan) -> Self {
        Self { plan, next_conversation: 0, customers: Vec::new(), messages: 0 }
    }

    /// The next batch of up to `size` conversations, or `None` when all are made.
    pub fn next_batch(&mut self, size: u64) -> Option<SeedBatch> {
        let end = (self.next_conversation + size.max(1)).min(self.plan.conversations);
        if self.next_conversation >= end {
            return None;
        }
        let mut batch = SeedBatch::default();
        for i in self.next_conversation..end {
            self.conversation(i, &mut batch);
        }
        self.next_conversation = end;
        Some(batch)
    }

    fn conversation(&mut self, i: u64, batch: &mut SeedBatch) {
        let plan = &self.plan;
        let (now, workspace_id) = (plan.now, plan.workspace_id);
        let slot = (HISTORY - NEWEST).whole_microseconds() as u64 / plan.conversations.max(1);
        let created_at = plan.now - HISTORY
            + Duration::microseconds(i64::try_from(i * slot + hash(i, 1) % slot.max(1)).unwrap_or(0));
        // the newest conversations (those that may still be active) always get a customer of
        // their own, so no customer has two active conversations on one number
        let recent = created_at >= plan.now - NEWEST - ACTIVE_WINDOW - Duration::hours(4);
        let made = self.customers.len() as u64;
        let returning = made > 0 && !recent && hash(i, 2) % 100 < RETURNING_PERCENT;
        let c = if returning {
            hash(i, 3) % made
        } else {
            let customer = customer(plan.workspace_id, made, created_at);
            self.customers.push(customer.id);
            batch.customers.push(customer);
            made
        };
        let customer_id = self.customers[c as usize];
        let kind = channel(c);
        let (assistant_id, sender_id) = match kind {
            ConversationType::Whatsapp => {
                let (sender, assistant) = plan.senders[(hash(c, 4) % plan.senders.len() as u64) as usize];
                (assistant, Some(sender))
            }
            _ => (plan.assistants[(hash(i, 5) % plan.assistants.len() as u64) as usize], None),
        };
        let id: ConversationId = v7(created_at).into();
        let length = length(i, plan.messages_per);
        // pack a recent conversation's messages closer, so that it still ends before now
        let max_gap = ((now - created_at).whole_seconds() / 2 / i64::from(length.max(1))).clamp(1, 120);
        let mut at = created_at;
        let mut turn = 0_u64;
        let mut written = 0_u32;
        while written < length {
            let h = hash(i, 100 + turn);
            batch.messages.push(self.customer_message(id, kind, at, h));
            written += 1;
            if written == length {
                break;
            }
            let response_ms = 700 + (h >> 8) % 4_000;
            let llm_ms = response_ms * 8 / 10;
            at += Duration::milliseconds(i64::try_from(response_ms).unwrap_or(0));
            let uses_tool = h % 9 == 0 && written + 1 < length;
            if uses_tool {
                batch.messages.push(tool_message(id, at, h));
                written += 1;
                at += Duration::milliseconds(300);
            }
            batch.messages.push(self.assistant_message(id, kind, at, h, !uses_tool, response_ms, llm_ms));
            written += 1;
            at += Duration::seconds(i64::try_from(2 + (h >> 16) % 118).unwrap_or(0).min(max_gap));
            turn += 1;
        }
        let last = batch.messages.last().map_or(created_at, |m| m.created_at);
        let active = last >= now - ACTIVE_WINDOW;
        let mut variables = serde_json::Map::new();
        if hash(i, 6) % 4 == 0 {
            variables.insert("order_id".into(), json!(format!("{}", 40_000 + hash(i, 7) % 60_000)));
            variables.insert("intent".into(), json!(INTENTS[(hash(i, 8) % INTENTS.len() as u64) as usize]));
        }
        batch.conversations.push(SeedConversation {
            id,
            workspace_id,
            kind,
            status: if active { ConversationStatus::Active } else { ConversationStatus::Ended },
            assistant_id,
            sender_id,
            customer_id,
            variables,
            created_at,
            ended_at: (!active).then(|| last + Duration::minutes(30)),
        });
    }

    fn customer_message(
        &mut self,
        conversation_id: ConversationId,
        kind: ConversationType,
        at: OffsetDateTime,
        h: u64,
    ) -> SeedMessage {
        self.messages += 1;
        let text = CUSTOMER_TEXTS[(h % CUSTOMER_TEXTS.len() as u64) as usize];
        let (kind_of_message, content) = match h % 23 {
            0 => (MessageKind::Image, "Here is the photo of the damaged parcel".to_string()),
            1 => (MessageKind::Location, "Puerta del Sol, Madrid".to_string()),
            _ => (MessageKind::Text, text.replace("{order}", &(40_000 + h % 60_000).to_string())),
        };
        SeedMessage {
            id: v7(at).into(),
            conversation_id,
            role: Role::User,
            kind: kind_of_message,
            content,
            payload: serde_json::Value::Null,
            provider_message_id: (kind == ConversationType::Whatsapp).then(|| self.wamid()),
            status: DeliveryStatus::Received,
            error: None,
            created_at: at,
            cost: MicroUsd::ZERO,
            usage: None,
            tool_call: None,
            response_time_ms: None,
            llm_latency_ms: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn assistant_message(
        &mut self,
        conversation_id: ConversationId,
        kind: ConversationType,
        at: OffsetDateTime,
        h: u64,
        first_of_turn: bool,
        response_ms: u64,
        llm_ms: u64,
    ) -> SeedMessage {
        self.messages += 1;
        let usage = usage(h);
        let (status, error) = match kind {
            ConversationType::Whatsapp => match (h >> 24) % 100 {
                0..=1 => {
                    let (code, title, details) = FAILURES[((h >> 32) % FAILURES.len() as u64) as usize];
                    (
                        DeliveryStatus::Failed,
                        Some(DeliveryError { code: Some(code), title: title.into(), details: Some(details.into()) }),
                    )
                }
                2..=11 => (DeliveryStatus::Sent, None),
                12..=29 => (DeliveryStatus::Delivered, None),
                _ => (DeliveryStatus::Read, None),
            },
            _ => (DeliveryStatus::Delivered, None),
        };
        SeedMessage {
            id: v7(at).into(),
            conversation_id,
            role: Role::Assistant,
            kind: MessageKind::Text,
            content: ASSISTANT_TEXTS[((h >> 4) % ASSISTANT_TEXTS.len() as u64) as usize]
                .replace("{order}", &(40_000 + h % 60_000).to_string()),
            payload: json!({ "model": "gpt-4o-mini", "llm_latency_ms": llm_ms }),
            provider_message_id: (kind == ConversationType::Whatsapp).then(|| self.wamid()),
            status,
            error,
            created_at: at,
            cost: cost_of(usage),
            usage: Some(usage),
            tool_call: None,
            response_time_ms: first_of_turn.then(|| i64::try_from(response_ms).unwrap_or(0)),
            llm_latency_ms: Some(i64::try_from(llm_ms).unwrap_or(0)),
        }
    }

    fn wamid(&self) -> String {
        format!("wamid.seed.{}.{:012}", self.plan.run, self.messages)
    }
}

fn tool_message(conversation_id: ConversationId, at: OffsetDateTime, h: u64) -> SeedMessage {
    let order = (40_000 + h % 60_000).to_string();
    let (name, arguments, result) = match (h >> 12) % 3 {
        0 => (
            "lookup_order",
            json!({ "order_id": order }),
            json!({ "status": "in_transit", "carrier": "DHL", "eta": "2026-11-28" }),
        ),
        1 => (
            "book_appointment",
            json!({ "date": "2026-12-02", "time": "10:30", "service": "fitting" }),
            json!({ "confirmed": true, "reference": format!("BK-{order}") }),
        ),
        _ => ("check_stock", json!({ "sku": format!("RS-{order}"), "size": "42" }), json!({ "in_stock": 3 })),
    };
    let usage = usage(h >> 3);
    SeedMessage {
        id: v7(at).into(),
        conversation_id,
        role: Role::Tool,
        kind: MessageKind::Text,
        content: format!("{name}({arguments})"),
        payload: serde_json::Value::Null,
        provider_message_id: None,
        status: DeliveryStatus::Received,
        error: None,
        created_at: at,
        cost: cost_of(usage),
        usage: Some(usage),
        tool_call: Some(ToolCall {
            call_id: format!("call_{:016x}", hash(h, 9)),
            name: name.into(),
            arguments,
            result: Some(result),
            error: None,
            duration_ms: i64::try_from(40 + h % 400).unwrap_or(0),
        }),
        response_time_ms: None,
        llm_latency_ms: Some(i64::try_from(500 + h % 1500).unwrap_or(0)),
    }
}

fn usage(h: u64) -> Usage {
    let input = 600 + h % 2_400;
    Usage {
        input_tokens: input,
        output_tokens: 20 + (h >> 5) % 220,
        cached_input_tokens: input * ((h >> 9) % 60) / 100,
    }
}

/// gpt-4o-mini list prices: $0.15 per million input tokens, $0.60 per million output tokens.
fn cost_of(u: Usage) -> MicroUsd {
    MicroUsd(i64::try_from((u.input_tokens * 15 + u.output_tokens * 60) / 100).unwrap_or(0))
}

/// How many messages conversation `i` has: pairs of conversations deviate by the same amount
/// in opposite directions, so the total is `messages_per` times the conversations.
fn length(i: u64, messages_per: u32) -> u32 {
    let spread = u64::from(messages_per / 2);
    let d = u32::try_from(hash(i / 2, 10) % (spread + 1)).unwrap_or(0);
    if i % 2 == 0 {
        messages_per + d
    } else {
        messages_per - d
    }
}

/// The channel customer `c` writes on: WhatsApp 80%, web widget 10%, API 5%, test 5%.
fn channel(c: u64) -> ConversationType {
    match hash(c, 11) % 20 {
        0..=15 => ConversationType::Whatsapp,
        16 | 17 => ConversationType::Widget,
        18 => ConversationType::Api,
        _ => ConversationType::Test,
    }
}

fn customer(workspace_id: WorkspaceId, c: u64, created_at: OffsetDateTime) -> SeedCustomer {
    let first = FIRST_NAMES[(hash(c, 12) % FIRST_NAMES.len() as u64) as usize];
    let last = LAST_NAMES[(hash(c, 13) % LAST_NAMES.len() as u64) as usize];
    let kind = channel(c);
    let name = match hash(c, 14) % 10 {
        0 => None,
        1..=3 => Some(first.to_string()),
        _ => Some(format!("{first} {last}")),
    };
    let (phone, external_identifier) = match kind {
        ConversationType::Whatsapp => (Some(phone(c)), None),
        ConversationType::Widget => (None, Some(format!("web:visitor-{:012x}", hash(c, 15) >> 16 ^ c))),
        ConversationType::Api => (None, Some(format!("crm:{}", 100_000 + c))),
        ConversationType::Test => {
            (None, Some(format!("test:{}.{}.{c}@example.com", first.to_lowercase(), last.to_lowercase())))
        }
    };
    SeedCustomer { id: v7(created_at).into(), workspace_id, phone, external_identifier, name, created_at }
}

/// A unique, plausible mobile number for customer `c`: the country varies, and the national
/// digits are `c` scrambled by a multiplication that is a bijection modulo 10^width.
fn phone(c: u64) -> PhoneNumber {
    // (country code and mobile prefix, digits after it)
    const COUNTRIES: [(&str, u32); 6] = [("346", 8), ("5215", 8), ("1415", 7), ("447", 9), ("55119", 8), ("4915", 9)];
    let (prefix, width) = COUNTRIES[(hash(c, 16) % COUNTRIES.len() as u64) as usize];
    let modulus = 10_u64.pow(width);
    let national = (c % modulus).wrapping_mul(7_919) % modulus;
    let digits = format!("+{prefix}{national:0width$}", width = width as usize);
    PhoneNumber::parse(&digits)
        .unwrap_or_else(|_| PhoneNumber::parse("+34600000000").unwrap_or_else(|_| unreachable!()))
}

/// A UUID v7 stamped with `at`.
fn v7(at: OffsetDateTime) -> uuid::Uuid {
    let nanos = at.unix_timestamp_nanos().max(0);
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(0);
    let sub = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, sub))
}

/// splitmix64 of `x` salted with `salt`: cheap, well-spread pseudo-randomness.
fn hash(x: u64, salt: u64) -> u64 {
    let mut z = x.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const INTENTS: [&str; 5] = ["order_status", "return", "booking", "product_question", "complaint"];

const FAILURES: [(i64, &str, &str); 3] = [
    (131_026, "Message undeliverable", "Unable to deliver message. The recipient may not be a WhatsApp user."),
    (
        131_047,
        "Re-engagement message",
        "More than 24 hours have passed since the recipient last replied to the sender number.",
    ),
    (
        131_049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "Meta chose not to deliver this marketing message.",
    ),
];

const FIRST_NAMES: [&str; 24] = [
    "Ana",
    "Lucía",
    "Carlos",
    "Mateo",
    "Sofía",
    "Valentina",
    "João",
    "Mariana",
    "Emma",
    "Oliver",
    "Amelia",
    "Noah",
    "Hannah",
    "Lukas",
    "Chloé",
    "Hugo",
    "Aisha",
    "Omar",
    "Priya",
    "Arjun",
    "Mei",
    "Kenji",
    "Fatima",
    "Diego",
];

const LAST_NAMES: [&str; 20] = [
    "García",
    "Fernández",
    "López",
    "Martínez",
    "Silva",
    "Santos",
    "Oliveira",
    "Smith",
    "Johnson",
    "Brown",
    "Müller",
    "Schmidt",
    "Dubois",
    "Moreau",
    "Khan",
    "Patel",
    "Sharma",
    "Tanaka",
    "Wang",
    "Hernández",
];

const CUSTOMER_TEXTS: [&str; 16] = [
    "Hi! Where is my order #{order}? The tracking page still says 'label created'.",
    "Hola, quiero cambiar la talla de mi pedido {order}, ¿es posible?",
    "Can I book a fitting for next Tuesday morning?",
    "Do you have the Trail Runner 2 in size 42?",
    "The parcel arrived damaged. What should I do?",
    "What are your opening hours on Sunday?",
    "I was charged twice for order {order}",
    "Thanks, that worked!",
    "Can I pay in instalments?",
    "Is there a store near Plaza Mayor?",
    "I need to return the jacket, it's too small",
    "ok",
    "Olá! Vocês entregam em Campinas?",
    "How long does shipping to Germany take?",
    "Can you send me the invoice for {order} please?",
    "Perfect, see you then 👍",
];

const ASSISTANT_TEXTS: [&str; 14] = [
    "Your order #{order} left our warehouse yesterday and should arrive on Friday. Here is the tracking link: https://track.example.com/{order}",
    "¡Claro! Puedo cambiar la talla. ¿Qué talla necesitas?",
    "I've booked your fitting for Tuesday at 10:30. You'll get a reminder the day before.",
    "Yes, the Trail Runner 2 is in stock in size 42 — 3 pairs left. Shall I reserve one for you?",
    "I'm sorry about that! Please send a photo of the parcel and I'll arrange a replacement right away.",
    "On Sundays we're open from 10:00 to 18:00.",
    "I can see two charges for order {order}. The second one is a pre-authorisation and will disappear within 3 business days.",
    "Glad I could help! Anything else?",
    "Yes, you can split payments into 3 instalments at checkout, with no extra fees.",
    "Our Plaza Mayor store is at Calle Mayor 12, open 10:00–21:00.",
    "No problem. I've created a return label for you; you can drop the parcel at any post office within 30 days.",
    "Sim! Entregamos em Campinas em 2 a 3 dias úteis.",
    "Shipping to Germany takes 3–5 business days.",
    "I've sent the invoice for order {order} to the e-mail on your account.",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conversations: u64, messages_per: u32) -> SeedPlan {
        SeedPlan {
            conversations,
            messages_per,
            now: OffsetDateTime::now_utc(),
            workspace_id: WorkspaceId::new(),
            assistants: vec![AssistantId::new(), AssistantId::new()],
            senders: vec![(SenderId::new(), AssistantId::new())],
            run: "t".into(),
        }
    }

    #[test]
    fn generates_the_planned_volume_in_order() {
        let mut generator = SeedGenerator::new(plan(1_000, 10));
        let mut conversations = 0;
        let mut messages = 0;
        let mut phones = std::collections::HashSet::new();
        while let Some(batch) = generator.next_batch(300) {
            conversations += batch.conversations.len();
            messages += batch.messages.len();
            for c in &batch.customers {
                if let Some(p) = &c.phone {
                    assert!(phones.insert(p.as_str().to_string()), "phone numbers are unique");
                }
            }
        }
        assert_eq!(conversations, 1_000);
        assert_eq!(messages, 10_000, "pairs deviate in opposite directions");
    }

    #[test]
    fn phones_are_valid_and_distinct() {
        let all: std::collections::HashSet<String> = (0..50_000).map(|c| phone(c).as_str().to_string()).collect();
        assert_eq!(all.len(), 50_000);
    }
}
