//! Configuration: defaults < `confab.toml` < `CONFAB_*` environment < command-line flags
//! (DESIGN §8). Deeper settings nest as `CONFAB_SECTION__KEY`. A bad value fails at start-up
//! with the key's name; secrets are redacted from `Debug`.

use anyhow::{bail, Context};
use confab_domain::Secret;
use confab_engine::tools::HttpToolPolicy;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variables with the `CONFAB_` prefix that are not settings.
const NOT_SETTINGS: [&str; 2] = ["test_postgres_url", "config"];

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address of the HTTP server.
    pub bind: SocketAddr,
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// The URL the world reaches us at; `http://` + bind when unset.
    pub public_url: Option<String>,
    /// Meta app secret: checks `X-Hub-Signature-256`. Unset: POST webhooks are refused.
    pub whatsapp_app_secret: Option<Secret>,
    /// Answer to Meta's GET handshake. Unset: the handshake is refused.
    pub whatsapp_verify_token: Option<Secret>,
    pub whatsapp_graph_url: String,
    pub whatsapp_graph_version: String,
    /// Inbound messages older than this are stored but not answered.
    pub whatsapp_stale_after_secs: u64,
    /// Most messages one WhatsApp number sends per second (Meta's default throughput is 80).
    pub whatsapp_sends_per_second: u32,
    /// Twilio's REST API base (its Messages API sends Twilio senders' messages).
    pub twilio_api_url: String,
    /// `openai` (any OpenAI-compatible server) or `anthropic`; unset: the offline responder.
    pub llm_provider: Option<String>,
    pub llm_base_url: Option<String>,
    pub llm_api_key: Option<Secret>,
    pub llm_model: Option<String>,
    /// More LLM providers, by name, that an assistant may choose with its `provider` setting
    /// (`[llm_providers.NAME]` in the file, `CONFAB_LLM_PROVIDERS__NAME__KIND` and so on in the
    /// environment).
    pub llm_providers: BTreeMap<String, NamedLlmProvider>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `confab=debug,sqlx=warn`.
    pub log: String,
    /// How long `POST /api/v1/conversations/{id}/messages` waits for the reply before
    /// answering 202 with where to poll.
    pub api_reply_timeout_secs: u64,
    /// Requests per minute one API key may make to `/api/v1` (bursts up to this many); 0 turns
    /// the limit off. Counted in memory by each process.
    pub api_rate_limit_per_minute: u32,
    /// The largest request body accepted, in bytes (Meta sends up to 3 MB).
    pub max_body_bytes: usize,
    /// Name of the workspace made on first start.
    pub default_workspace_name: String,
    /// Hosts, IP addresses and CIDR ranges (comma-separated) that HTTP tools may reach even
    /// though they are not public (private, loopback, link-local…). Empty: public addresses only.
    pub http_tools_allowed_hosts: String,
}

/// An LLM provider assistants may name: its wire format, where it is, its key and its
/// default model.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedLlmProvider {
    /// `openai` (any OpenAI-compatible server) or `anthropic`.
    pub kind: String,
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    pub model: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://./data/confab.db".into(),
            public_url: None,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            whatsapp_graph_url: "https://graph.facebook.com".into(),
            whatsapp_graph_version: "v23.0".into(),
            whatsapp_stale_after_secs: 600,
            whatsapp_sends_per_second: 80,
            twilio_api_url: "https://api.twilio.com".into(),
            llm_provider: None,
            llm_base_url: None,
            llm_api_key: None,
            llm_model: None,
            llm_providers: BTreeMap::new(),
            log_format: LogFormat::Text,
            log: "info".into(),
            api_reply_timeout_secs: 30,
            api_rate_limit_per_minute: 600,
            max_body_bytes: 4 * 1024 * 1024,
            default_workspace_name: "My workspace".into(),
            http_tools_allowed_hosts: String::new(),
        }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Settings {
    /// Loads the layers. `config_file`: an explicit path must exist; without one,
    /// `./confab.toml` is read if present.
    pub fn load(config_file: Option<&Path>, flags: &FlagOverrides) -> anyhow::Result<Self> {
        let file = match config_file {
            Some(path) if !path.exists() => bail!("config file {} does not exist", path.display()),
            Some(path) => path.to_path_buf(),
            None => PathBuf::from("confab.toml"),
        };
        let figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(&file))
            .merge(Env::prefixed("CONFAB_").split("__").ignore(&NOT_SETTINGS))
            .merge(Serialized::defaults(flags));
        let settings: Settings = figment.extract().map_err(|e| {
            anyhow::anyhow!("invalid configuration: {e}\n(settings come from {}, CONFAB_* variables and flags; `confab config example` lists them)", file.display())
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!("invalid configuration: database_url must start with sqlite:// or postgres://");
        }
        for (key, value) in [
            ("public_url", self.public_url.as_deref()),
            ("whatsapp_graph_url", Some(&self.whatsapp_graph_url)),
            ("twilio_api_url", Some(&self.twilio_api_url)),
            ("llm_base_url", self.llm_base_url.as_deref()),
        ] {
            if let Some(url) = value {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!("invalid configuration: {key} must be an http:// or https:// URL");
                }
            }
        }
        if let Some(provider) = &self.llm_provider {
            if !matches!(provider.as_str(), "openai" | "anthropic") {
                bail!("invalid configuration: llm_provider must be `openai` or `anthropic` (or unset for the offline responder)");
            }
        }
        for (name, named) in &self.llm_providers {
            let key = format!("llm_providers.{name}");
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                bail!("invalid configuration: {key}: a provider's name is lower-case letters, digits and _");
            }
            if !matches!(named.kind.as_str(), "openai" | "anthropic") {
                bail!("invalid configuration: {key}.kind must be `openai` or `anthropic`");
            }
            if let Some(url) = &named.base_url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!("invalid configuration: {key}.base_url must be an http:// or https:// URL");
                }
            }
        }
        if self.whatsapp_sends_per_second == 0 {
            bail!("invalid configuration: whatsapp_sends_per_second must be at least 1");
        }
        if self.max_body_bytes < 1024 {
            bail!("invalid configuration: max_body_bytes must be at least 1024");
        }
        self.http_tool_policy()?;
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .context("invalid configuration: log is not a valid filter")?;
        Ok(())
    }

    /// Where HTTP tools may send requests (`http_tools_allowed_hosts`).
    pub fn http_tool_policy(&self) -> anyhow::Result<HttpToolPolicy> {
        HttpToolPolicy::parse(&self.http_tools_allowed_hosts)
            .map_err(|e| anyhow::anyhow!("invalid configuration: http_tools_allowed_hosts: {e}"))
    }

    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

/// A database URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:[redacted]{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("whatsapp_app_secret", &self.whatsapp_app_secret)
            .field("whatsapp_verify_token", &self.whatsapp_verify_token)
            .field("whatsapp_graph_url", &self.whatsapp_graph_url)
            .field("whatsapp_graph_version", &self.whatsapp_graph_version)
            .field("whatsapp_stale_after_secs", &self.whatsapp_stale_after_secs)
            .field("whatsapp_sends_per_second", &self.whatsapp_sends_per_second)
            .field("twilio_api_url", &self.twilio_api_url)
            .field("llm_provider", &self.llm_provider)
            .field("llm_base_url", &self.llm_base_url)
            .field("llm_api_key", &self.llm_api_key)
            .field("llm_model", &self.llm_model)
            .field("llm_providers", &self.llm_providers)
            .field("log_format", &self.log_format)
            .field("log", &self.log)
            .field("api_reply_timeout_secs", &self.api_reply_timeout_secs)
            .field("api_rate_limit_per_minute", &self.api_rate_limit_per_minute)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("default_workspace_name", &self.default_workspace_name)
            .field("http_tools_allowed_hosts", &self.http_tools_allowed_hosts)
            .finish()
    }
}

/// `confab config example`: every setting with its default and meaning, as a `confab.toml`.
pub const EXAMPLE: &str = r#"# confab.toml — every setting, with its default. Each may also be set as an environment
# variable CONFAB_<NAME> (upper case), e.g. CONFAB_DATABASE_URL; flags win over both.

# Address of the HTTP server.
bind = "127.0.0.1:8080"

# sqlite://PATH (one machine, the default) or postgres://USER:PASSWORD@HOST/DB (several machines).
database_url = "sqlite://./data/confab.db"

# The URL the world reaches us at (Twilio signatures, widget, links). Default: http:// + bind.
# public_url = "https://confab.example.com"

# WhatsApp Cloud API (Meta). Without the app secret, POST /webhooks/whatsapp is refused;
# without the verify token, Meta's GET handshake is refused.
# whatsapp_app_secret = "…"
# whatsapp_verify_token = "…"
whatsapp_graph_url = "https://graph.facebook.com"
whatsapp_graph_version = "v23.0"
# Inbound messages older than this (Meta replays backlogs after an outage) are stored, not answered.
whatsapp_stale_after_secs = 600
# Most messages one WhatsApp number sends per second (Meta's default throughput).
whatsapp_sends_per_second = 80

# Twilio's REST API, for numbers connected through Twilio (credentials are per sender).
twilio_api_url = "https://api.twilio.com"

# The default LLM: "openai" (any OpenAI-compatible server) or "anthropic".
# Unset: the built-in offline responder answers from knowledge bases.
# llm_provider = "openai"
# llm_base_url = "https://api.openai.com/v1"
# llm_api_key = "…"
# llm_model = "gpt-4o-mini"

# More providers an assistant may pick by name with its `provider` setting (the default one is
# used when it names none). Environment: CONFAB_LLM_PROVIDERS__LOCAL__KIND=openai, and so on.
# [llm_providers.local]
# kind = "openai"                         # or "anthropic"
# base_url = "http://127.0.0.1:11434/v1"  # e.g. Ollama
# api_key = "…"
# model = "llama3.2"                      # used when the assistant names no model

# Logs: "text" or "json", and a filter such as "info" or "confab=debug,sqlx=warn".
log_format = "text"
log = "info"

# How long an API message waits for the assistant's reply before answering 202 (poll then).
api_reply_timeout_secs = 30

# Requests per minute one API key may make to /api/v1 (it may burst up to this many); 0 = off.
# Each process counts on its own: with several processes a key gets this much from each.
api_rate_limit_per_minute = 600

# The largest request body accepted, in bytes.
max_body_bytes = 4194304

# Name of the workspace made on first start.
default_workspace_name = "My workspace"

# HTTP tools may only reach public addresses. Hosts, IPs and CIDR ranges listed here (comma-
# separated) may be reached although they are private, loopback or link-local, e.g.
# "127.0.0.1, 10.0.0.0/8, orders.internal". A listed name is trusted whatever it resolves to.
http_tools_allowed_hosts = ""
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_to_the_defaults() {
        let from_example: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(EXAMPLE))
            .extract()
            .expect("the example is valid");
        assert_eq!(format!("{from_example:?}"), format!("{:?}", Settings::default()));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn layers_apply_in_order_and_bad_values_name_their_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "confab.toml",
                "bind = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite://file.db\"\nlog = \"debug\"",
            )?;
            jail.set_env("CONFAB_DATABASE_URL", "sqlite://env.db");
            jail.set_env("CONFAB_TEST_POSTGRES_URL", "postgres://ignored");
            let flags = FlagOverrides { bind: Some("127.0.0.1:9100".parse().unwrap()), database_url: None };
            let s = Settings::load(None, &flags).expect("loads");
            assert_eq!(s.bind.port(), 9100, "flags win");
            assert_eq!(s.database_url, "sqlite://env.db", "env beats the file");
            assert_eq!(s.log, "debug", "the file beats defaults");

            jail.set_env("CONFAB_BIND", "not-an-address");
            let err = Settings::load(None, &FlagOverrides::default()).unwrap_err().to_string().to_lowercase();
            assert!(err.contains("bind"), "{err}");
            jail.set_env("CONFAB_BIND", "127.0.0.1:1");
            jail.set_env("CONFAB_WHATSAPP_STALE_AFTER_SECS", "soon");
            let err = Settings::load(None, &FlagOverrides::default()).unwrap_err().to_string().to_lowercase();
            assert!(err.contains("whatsapp_stale_after_secs"), "{err}");
            jail.set_env("CONFAB_WHATSAPP_STALE_AFTER_SECS", "60");
            jail.set_env("CONFAB_DATABSE_URL", "typo");
            let err = Settings::load(None, &FlagOverrides::default()).unwrap_err().to_string().to_lowercase();
            assert!(err.contains("databse_url"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn named_llm_providers_come_from_the_environment_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CONFAB_LLM_PROVIDERS__LOCAL__KIND", "openai");
            jail.set_env("CONFAB_LLM_PROVIDERS__LOCAL__BASE_URL", "http://127.0.0.1:11434/v1");
            jail.set_env("CONFAB_LLM_PROVIDERS__LOCAL__API_KEY", "sk-local-secret");
            let s = Settings::load(None, &FlagOverrides::default()).expect("loads");
            let local = &s.llm_providers["local"];
            assert_eq!((local.kind.as_str(), local.base_url.as_deref()), ("openai", Some("http://127.0.0.1:11434/v1")));
            assert!(!format!("{s:?}").contains("sk-local-secret"));
            jail.set_env("CONFAB_LLM_PROVIDERS__LOCAL__KIND", "gemini");
            let err = Settings::load(None, &FlagOverrides::default()).unwrap_err().to_string();
            assert!(err.contains("llm_providers.local.kind"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn http_tools_allowed_hosts_is_checked_at_start() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CONFAB_HTTP_TOOLS_ALLOWED_HOSTS", "127.0.0.1, 10.0.0.0/8, orders.internal");
            let s = Settings::load(None, &FlagOverrides::default()).expect("loads");
            assert!(s.http_tool_policy().expect("valid").allows_name("orders.internal"));
            jail.set_env("CONFAB_HTTP_TOOLS_ALLOWED_HOSTS", "10.0.0.0/99");
            let err = Settings::load(None, &FlagOverrides::default()).unwrap_err().to_string();
            assert!(err.contains("http_tools_allowed_hosts"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Settings {
            whatsapp_app_secret: Some(Secret::new("app-secret-value")),
            llm_api_key: Some(Secret::new("sk-live-value")),
            database_url: "postgres://confab:hunter2@db/confab".into(),
            ..Settings::default()
        };
        let shown = format!("{s:?}");
        for secret in ["app-secret-value", "sk-live-value", "hunter2"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(redact_url("postgres://u:p@h/db"), "postgres://u:[redacted]@h/db");
        assert_eq!(redact_url("sqlite://./data/confab.db"), "sqlite://./data/confab.db");
    }

    #[test]
    fn an_explicit_missing_file_is_an_error() {
        assert!(Settings::load(Some(Path::new("/nonexistent/confab.toml")), &FlagOverrides::default()).is_err());
    }
}
