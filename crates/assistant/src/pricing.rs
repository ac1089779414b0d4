//! What a turn costs: LLM tokens by model, and per-message channel fees. Integer micro-USD,
//! never floats (DESIGN §1 "cost").
//!
//! This module owns [`PriceTable`]: per-model token prices ([`ModelPrice`], micro-USD per
//! million tokens for input, cached input and output) and per-message channel fees
//! ([`ChannelFees`]). It is plain data, serde-(de)serialisable, so a workspace can store and
//! edit its own; [`PriceTable::default`] is a starting point.
//!
//! A model is found by its exact name, else by the longest listed name it starts with at a
//! separator (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`; `claude-3-5-haiku-latest` →
//! `claude-3-5-haiku`; `llama3.2:3b` → `llama3.2`), else the same after dropping a router's
//! `vendor/` prefix (`openai/gpt-4o-mini`). Names compare case-insensitively. A model not found
//! costs nothing, and [`PriceTable::try_llm_cost`] says so, so callers can show "price
//! unknown" rather than a silent zero.
//!
//! **The default prices are defaults, not truth.** They were copied from the providers'
//! public price pages (OpenAI, Anthropic: 2025 list prices, standard tier) and Meta's
//! WhatsApp rate card (North America, per-message pricing from July 2025), and providers
//! change them. Operators should check and edit them. Known simplifications: Anthropic bills
//! cache *writes* at 1.25× the input price, but confab's `Usage` counts them as plain input
//! (confab sets no cache breakpoints, so there are none unless someone adds them); WhatsApp
//! template rates vary by the recipient's country, and the table holds one rate per category.

use confab_domain::{MicroUsd, Provider, TemplateCategory, Usage, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A model's token prices, in micro-USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// Uncached input (prompt) tokens.
    pub input_per_million: MicroUsd,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input_per_million: MicroUsd,
    /// Output (completion) tokens.
    pub output_per_million: MicroUsd,
}

impl ModelPrice {
    /// Prices in micro-USD per million tokens: `ModelPrice::new(150_000, 75_000, 600_000)` is
    /// $0.15 in, $0.075 cached, $0.60 out.
    pub const fn new(input: i64, cached_input: i64, output: i64) -> Self {
        Self {
            input_per_million: MicroUsd(input),
            cached_input_per_million: MicroUsd(cached_input),
            output_per_million: MicroUsd(output),
        }
    }

    /// The cost of `usage`: cached input at the cached price, the rest of the input at the
    /// input price, output at the output price; each rounded up.
    pub fn cost(&self, usage: &Usage) -> MicroUsd {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        MicroUsd::for_tokens(usage.input_tokens - cached, self.input_per_million)
            + MicroUsd::for_tokens(cached, self.cached_input_per_million)
            + MicroUsd::for_tokens(usage.output_tokens, self.output_per_million)
    }
}

/// Fees per message, by channel and kind, in micro-USD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelFees {
    /// A message a customer sends on WhatsApp (Meta charges nothing).
    pub whatsapp_inbound: MicroUsd,
    /// A free-form reply inside the 24-hour window (Meta charges nothing for service messages).
    pub whatsapp_session_outbound: MicroUsd,
    pub whatsapp_template_marketing: MicroUsd,
    /// A utility template sent outside an open window (inside one it is free).
    pub whatsapp_template_utility: MicroUsd,
    pub whatsapp_template_authentication: MicroUsd,
    /// Twilio's own fee on every WhatsApp message it carries, either way, on top of Meta's.
    pub twilio_per_message: MicroUsd,
    /// A message on the website widget, either way.
    pub widget: MicroUsd,
    /// A message through the REST API, either way.
    pub api: MicroUsd,
}

impl Default for ChannelFees {
    /// Meta's North America rates, Twilio's list fee, and free widget and API messages.
    fn default() -> Self {
        Self {
            whatsapp_inbound: MicroUsd::ZERO,
            whatsapp_session_outbound: MicroUsd::ZERO,
            whatsapp_template_marketing: MicroUsd(25_000),
            whatsapp_template_utility: MicroUsd(4_000),
            whatsapp_template_authentication: MicroUsd(13_500),
            twilio_per_message: MicroUsd(5_000),
            widget: MicroUsd::ZERO,
            api: MicroUsd::ZERO,
        }
    }
}

/// A message that may carry a channel fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelMessage {
    WhatsAppInbound {
        carrier: Provider,
    },
    /// A free-form WhatsApp reply (only possible inside the window).
    WhatsAppSessionOutbound {
        carrier: Provider,
    },
    WhatsAppTemplate {
        carrier: Provider,
        category: TemplateCategory,
        window_open: bool,
    },
    Widget,
    Api,
    /// The dashboard's test chat: always free.
    Test,
}

/// Token prices per model and fees per message. Serde-(de)serialisable; missing fields take
/// the defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriceTable {
    /// Model name (or name prefix) → prices.
    pub models: BTreeMap<String, ModelPrice>,
    pub channel_fees: ChannelFees,
}

impl Default for PriceTable {
    /// A few current models at their list prices, and [`ChannelFees::default`]. Defaults
    /// for the operator to check and edit (see the module docs).
    fn default() -> Self {
        let models = [
            // OpenAI, standard tier: input, cached input, output per million tokens
            ("gpt-4o-mini", ModelPrice::new(150_000, 75_000, 600_000)),
            ("gpt-4o", ModelPrice::new(2_500_000, 1_250_000, 10_000_000)),
            ("gpt-4.1-nano", ModelPrice::new(100_000, 25_000, 400_000)),
            ("gpt-4.1-mini", ModelPrice::new(400_000, 100_000, 1_600_000)),
            ("gpt-4.1", ModelPrice::new(2_000_000, 500_000, 8_000_000)),
            ("gpt-5-nano", ModelPrice::new(50_000, 5_000, 400_000)),
            ("gpt-5-mini", ModelPrice::new(250_000, 25_000, 2_000_000)),
            ("gpt-5", ModelPrice::new(1_250_000, 125_000, 10_000_000)),
            // Anthropic: base input, cache read, output per million tokens
            ("claude-3-5-haiku", ModelPrice::new(800_000, 80_000, 4_000_000)),
            ("claude-haiku-4-5", ModelPrice::new(1_000_000, 100_000, 5_000_000)),
            ("claude-3-7-sonnet", ModelPrice::new(3_000_000, 300_000, 15_000_000)),
            ("claude-sonnet-4", ModelPrice::new(3_000_000, 300_000, 15_000_000)),
            ("claude-opus-4", ModelPrice::new(15_000_000, 1_500_000, 75_000_000)),
            ("claude-opus-4-5", ModelPrice::new(5_000_000, 500_000, 25_000_000)),
        ];
        Self {
            models: models.into_iter().map(|(name, price)| (name.to_owned(), price)).collect(),
            channel_fees: ChannelFees::default(),
        }
    }
}

impl PriceTable {
    /// No model prices and no fees: everything is free (or unknown).
    pub fn empty() -> Self {
        Self {
            models: BTreeMap::new(),
            channel_fees: ChannelFees {
                whatsapp_template_marketing: MicroUsd::ZERO,
                whatsapp_template_utility: MicroUsd::ZERO,
                whatsapp_template_authentication: MicroUsd::ZERO,
                twilio_per_message: MicroUsd::ZERO,
                ..ChannelFees::default()
            },
        }
    }

    /// Sets (or replaces) the prices of `model`.
    pub fn set_model_price(&mut self, model: impl Into<String>, price: ModelPrice) {
        self.models.insert(model.into(), price);
    }

    /// The prices for `model`: exact name, else longest prefix, else without a `vendor/` prefix.
    pub fn model_price(&self, model: &str) -> Option<&ModelPrice> {
        let model = model.trim();
        self.lookup(model).or_else(|| model.split_once('/').and_then(|(_, bare)| self.lookup(bare)))
    }

    fn lookup(&self, model: &str) -> Option<&ModelPrice> {
        if model.is_empty() {
            return None;
        }
        let model = model.to_ascii_lowercase();
        let mut best: Option<(usize, &ModelPrice)> = None;
        for (name, price) in &self.models {
            let name = name.to_ascii_lowercase();
            if name == model {
                return Some(price);
            }
            let at_separator = model
                .strip_prefix(name.as_str())
                .and_then(|rest| rest.chars().next())
                .is_some_and(|c| matches!(c, '-' | ':' | '@' | '_' | '/'));
            if !name.is_empty() && at_separator && best.is_none_or(|(len, _)| name.len() > len) {
                best = Some((name.len(), price));
            }
        }
        best.map(|(_, price)| price)
    }

    /// The cost of `usage` on `model`; zero when the model has no price (see
    /// [`Self::try_llm_cost`] to tell "free" from "unknown").
    pub fn llm_cost(&self, model: &str, usage: &Usage) -> MicroUsd {
        self.try_llm_cost(model, usage).unwrap_or(MicroUsd::ZERO)
    }

    /// The cost of `usage` on `model`, or `None` when the table has no price for it.
    pub fn try_llm_cost(&self, model: &str, usage: &Usage) -> Option<MicroUsd> {
        self.model_price(model).map(|price| price.cost(usage))
    }

    /// Checks an operator's table: no negative price or fee, model names of 1 to 100
    /// characters. Every problem is listed.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut errors = Vec::new();
        for (name, price) in &self.models {
            if name.trim().is_empty() || name.chars().count() > 100 {
                errors.push(ValidationError::new("models", format!("model name `{name}` must be 1 to 100 characters")));
            }
            let prices = [price.input_per_million, price.cached_input_per_million, price.output_per_million];
            if prices.iter().any(|p| p.0 < 0) {
                errors.push(ValidationError::new("models", format!("the prices of `{name}` must not be negative")));
            }
        }
        let f = &self.channel_fees;
        let fees = [
            f.whatsapp_inbound,
            f.whatsapp_session_outbound,
            f.whatsapp_template_marketing,
            f.whatsapp_template_utility,
            f.whatsapp_template_authentication,
            f.twilio_per_message,
            f.widget,
            f.api,
        ];
        if fees.iter().any(|fee| fee.0 < 0) {
            errors.push(ValidationError::new("channel_fees", "channel fees must not be negative"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The fee for a message Meta reported `pricing` for (on a delivery status): nothing when
    /// Meta says it is not billable; the template fee of its category (`marketing`,
    /// `marketing_lite`, `utility`, `authentication`, `authentication_international`) or the
    /// session fee (`service`) when it is; `None` when Meta said nothing we can price.
    pub fn meta_reported_fee(&self, pricing: &serde_json::Value) -> Option<MicroUsd> {
        let billable = pricing.get("billable")?.as_bool()?;
        if !billable {
            return Some(MicroUsd::ZERO);
        }
        let fees = &self.channel_fees;
        match pricing.get("category")?.as_str()? {
            "marketing" | "marketing_lite" => Some(fees.whatsapp_template_marketing),
            "utility" => Some(fees.whatsapp_template_utility),
            "authentication" | "authentication_international" => Some(fees.whatsapp_template_authentication),
            "service" => Some(fees.whatsapp_session_outbound),
            _ => None,
        }
    }

    /// The channel fee for one message.
    pub fn message_fee(&self, message: ChannelMessage) -> MicroUsd {
        let fees = &self.channel_fees;
        let carried = |carrier: Provider, meta_fee: MicroUsd| match carrier {
            Provider::Meta => meta_fee,
            Provider::Twilio => meta_fee + fees.twilio_per_message,
        };
        match message {
            ChannelMessage::WhatsAppInbound { carrier } => carried(carrier, fees.whatsapp_inbound),
            ChannelMessage::WhatsAppSessionOutbound { carrier } => carried(carrier, fees.whatsapp_session_outbound),
            ChannelMessage::WhatsAppTemplate { carrier, category, window_open } => {
                let fee = match category {
                    TemplateCategory::Marketing => fees.whatsapp_template_marketing,
                    TemplateCategory::Utility if window_open => MicroUsd::ZERO,
                    TemplateCategory::Utility => fees.whatsapp_template_utility,
                    TemplateCategory::Authentication => fees.whatsapp_template_authentication,
                };
                carried(carrier, fee)
            }
            ChannelMessage::Widget => fees.widget,
            ChannelMessage::Api => fees.api,
            ChannelMessage::Test => MicroUsd::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input_tokens: u64, cached_input_tokens: u64, output_tokens: u64) -> Usage {
        Usage { input_tokens, output_tokens, cached_input_tokens }
    }

    #[test]
    fn meta_reported_pricing_maps_to_fees() {
        let table = PriceTable::default();
        let fee = |v: serde_json::Value| table.meta_reported_fee(&v);
        assert_eq!(fee(serde_json::json!({ "billable": false, "category": "marketing" })), Some(MicroUsd::ZERO));
        assert_eq!(
            fee(serde_json::json!({ "billable": true, "category": "marketing", "pricing_model": "PMP" })),
            Some(table.channel_fees.whatsapp_template_marketing)
        );
        assert_eq!(
            fee(serde_json::json!({ "billable": true, "category": "authentication_international" })),
            Some(table.channel_fees.whatsapp_template_authentication)
        );
        assert_eq!(fee(serde_json::json!({ "billable": true, "category": "referral_conversion" })), None);
        assert_eq!(fee(serde_json::Value::Null), None);
    }

    #[test]
    fn finds_models_by_exact_name_then_longest_prefix() {
        let table = PriceTable::default();
        let input = |model: &str| table.model_price(model).map(|p| p.input_per_million.0);
        assert_eq!(input("gpt-4o-mini"), Some(150_000));
        assert_eq!(input("gpt-4o-mini-2024-07-18"), Some(150_000), "not gpt-4o's price");
        assert_eq!(input("gpt-4o-2024-08-06"), Some(2_500_000));
        assert_eq!(input("gpt-4.1-mini-2025-04-14"), Some(400_000));
        assert_eq!(input("gpt-4.1"), Some(2_000_000));
        assert_eq!(input("gpt-5-mini-2025-08-07"), Some(250_000));
        assert_eq!(input("claude-3-5-haiku-latest"), Some(800_000));
        assert_eq!(input("claude-3-5-haiku-20241022"), Some(800_000));
        assert_eq!(input("claude-sonnet-4-20250514"), Some(3_000_000));
        assert_eq!(input("claude-opus-4-1-20250805"), Some(15_000_000));
        assert_eq!(input("claude-opus-4-5-20251101"), Some(5_000_000));
        assert_eq!(input("openai/gpt-4o-mini"), Some(150_000), "a router's vendor prefix");
        assert_eq!(input("GPT-4o-Mini"), Some(150_000));
        // a prefix counts only at a separator
        assert_eq!(input("gpt-4"), None);
        assert_eq!(input("gpt-4o2"), None);
        assert_eq!(input("gpt-5.1"), None);
        assert_eq!(input("llama3.2"), None);
        assert_eq!(input(""), None);
    }

    #[test]
    fn prices_cached_tokens_at_the_cached_price() {
        let table = PriceTable::default();
        // gpt-4o-mini: 1,000 uncached at $0.15/M, 1,000 cached at $0.075/M, 500 out at $0.60/M
        let cost = table.llm_cost("gpt-4o-mini-2024-07-18", &usage(2_000, 1_000, 500));
        assert_eq!(cost, MicroUsd(150 + 75 + 300));
        // claude-3-5-haiku: 2,050 input of which 1,800 cached, 120 out
        let cost = table.llm_cost("claude-3-5-haiku-20241022", &usage(2_050, 1_800, 120));
        assert_eq!(cost, MicroUsd(200 + 144 + 480));
        // rounding is up, per part, so sums never under-count
        assert_eq!(table.llm_cost("gpt-4o-mini", &usage(1, 0, 1)), MicroUsd(2));
        // cached tokens beyond the input are not billed twice
        assert_eq!(table.llm_cost("gpt-4o-mini", &usage(10, 50, 0)), MicroUsd::for_tokens(10, MicroUsd(75_000)));
        assert_eq!(table.llm_cost("gpt-4o-mini", &Usage::default()), MicroUsd::ZERO);
    }

    #[test]
    fn unknown_models_cost_nothing_and_say_so() {
        let mut table = PriceTable::default();
        assert_eq!(table.try_llm_cost("llama3.2:3b", &usage(1000, 0, 1000)), None);
        assert_eq!(table.llm_cost("llama3.2:3b", &usage(1000, 0, 1000)), MicroUsd::ZERO);
        table.set_model_price("llama3.2", ModelPrice::new(0, 0, 0));
        assert_eq!(table.try_llm_cost("llama3.2:3b", &usage(1000, 0, 1000)), Some(MicroUsd::ZERO));
        assert_eq!(PriceTable::empty().try_llm_cost("gpt-4o-mini", &usage(1, 0, 1)), None);
    }

    #[test]
    fn channel_fees() {
        let table = PriceTable::default();
        let fee = |m| table.message_fee(m).0;
        assert_eq!(fee(ChannelMessage::WhatsAppInbound { carrier: Provider::Meta }), 0);
        assert_eq!(fee(ChannelMessage::WhatsAppInbound { carrier: Provider::Twilio }), 5_000);
        assert_eq!(fee(ChannelMessage::WhatsAppSessionOutbound { carrier: Provider::Meta }), 0);
        let template =
            |category, window_open, carrier| ChannelMessage::WhatsAppTemplate { carrier, category, window_open };
        assert_eq!(fee(template(TemplateCategory::Marketing, true, Provider::Meta)), 25_000);
        assert_eq!(fee(template(TemplateCategory::Utility, false, Provider::Meta)), 4_000);
        assert_eq!(fee(template(TemplateCategory::Utility, true, Provider::Meta)), 0);
        assert_eq!(fee(template(TemplateCategory::Authentication, false, Provider::Twilio)), 18_500);
        assert_eq!(fee(ChannelMessage::Widget), 0);
        assert_eq!(fee(ChannelMessage::Api), 0);
        let mut paid = PriceTable::default();
        paid.channel_fees.widget = MicroUsd(10);
        assert_eq!(paid.message_fee(ChannelMessage::Widget), MicroUsd(10));
        assert_eq!(paid.message_fee(ChannelMessage::Test), MicroUsd::ZERO, "test chats are always free");
        assert_eq!(
            PriceTable::empty().message_fee(template(TemplateCategory::Marketing, false, Provider::Twilio)),
            MicroUsd::ZERO
        );
    }

    #[test]
    fn round_trips_through_json_and_fills_gaps_with_defaults() {
        let table = PriceTable::default();
        let json = serde_json::to_value(&table).unwrap();
        assert_eq!(
            json["models"]["gpt-4o-mini"],
            serde_json::json!({"input_per_million": 150000, "cached_input_per_million": 75000, "output_per_million": 600000})
        );
        assert_eq!(json["channel_fees"]["whatsapp_template_marketing"], serde_json::json!(25000));
        assert_eq!(serde_json::from_value::<PriceTable>(json).unwrap(), table);

        let partial: PriceTable = serde_json::from_str(
            r#"{"models": {"my-model": {"input_per_million": 1, "cached_input_per_million": 1, "output_per_million": 2}},
                "channel_fees": {"widget": 7}}"#,
        )
        .unwrap();
        assert_eq!(partial.models.len(), 1, "a stored model list replaces the defaults");
        assert_eq!(partial.channel_fees.widget, MicroUsd(7));
        assert_eq!(partial.channel_fees.whatsapp_template_utility, MicroUsd(4_000));
        assert_eq!(serde_json::from_str::<PriceTable>("{}").unwrap(), PriceTable::default());
    }
}
