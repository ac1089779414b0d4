//! Which LLM client and model serve an assistant: the default provider, or one the operator
//! configured by name that the assistant picked with its `provider` setting; the assistant's
//! own model, else that provider's default. Shared by everything that calls a model for an
//! assistant (turns, post-conversation extraction).

use confab_assistant::LlmClient;
use confab_domain::Assistant;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct LlmRoutes {
    client: Arc<dyn LlmClient>,
    default_model: String,
    /// Providers the assistants may name, by name: client and default model.
    named: HashMap<String, (Arc<dyn LlmClient>, Option<String>)>,
}

impl LlmRoutes {
    pub fn new(client: Arc<dyn LlmClient>, default_model: impl Into<String>) -> Self {
        Self { client, default_model: default_model.into(), named: HashMap::new() }
    }

    pub fn with_named(
        mut self,
        name: impl Into<String>,
        client: Arc<dyn LlmClient>,
        default_model: Option<String>,
    ) -> Self {
        self.named.insert(name.into(), (client, default_model));
        self
    }

    /// The client and model for this assistant: its named provider if it names one (or the
    /// default one when it names the default's kind), its model or the provider's default.
    /// Err with a note for the conversation when it names a provider nobody configured.
    pub fn route(&self, assistant: &Assistant) -> Result<(Arc<dyn LlmClient>, String), String> {
        let (client, default_model) = match assistant.provider.as_deref() {
            None => (&self.client, Some(&self.default_model)),
            Some(name) => match self.named.get(name) {
                Some((client, model)) => (client, model.as_ref()),
                None if name == self.client.provider() => (&self.client, Some(&self.default_model)),
                None => {
                    return Err(format!(
                        "The assistant asks for the LLM provider `{name}`, which this server does not configure (CONFAB_LLM_PROVIDERS__{}__KIND…), so it handed the conversation to a person.",
                        name.to_ascii_uppercase()
                    ))
                }
            },
        };
        let model =
            assistant.model.clone().or_else(|| default_model.cloned()).unwrap_or_else(|| self.default_model.clone());
        Ok((client.clone(), model))
    }
}
