//! HTTP tools: a workspace's own functions the model may call, each one HTTP request to a
//! URL template (`https://api.example.com/orders/{order_id}`) with secret headers, JSON-schema
//! parameters and a timeout. The parsing constructors here hold every rule a definition must
//! meet; where the request may go at run time is the engine's network guard.

use crate::parameter_schema::ParameterSchema;
use crate::tool::BUILT_IN_TOOLS;
use crate::{HttpToolId, Secret, ToolName, ValidationError, WorkspaceId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

/// The HTTP method a tool calls with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(Self::Get),
            "POST" => Ok(Self::Post),
            "PUT" => Ok(Self::Put),
            "PATCH" => Ok(Self::Patch),
            "DELETE" => Ok(Self::Delete),
            _ => Err(ValidationError::new("method", "method must be GET, POST, PUT, PATCH or DELETE")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Whether arguments left over after the URL placeholders go in the query string (GET,
    /// DELETE) rather than a JSON body.
    pub fn sends_arguments_as_query(self) -> bool {
        matches!(self, Self::Get | Self::Delete)
    }
}

/// An http(s) URL with `{param}` placeholders in its path or query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UrlTemplate(String);

impl UrlTemplate {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = |m: &str| ValidationError::new("url", m.to_string());
        let s = s.trim();
        if s.len() > 2048 {
            return Err(err("url must be at most 2048 characters"));
        }
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or_else(|| err("url must start with http:// or https://"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() {
            return Err(err("url must name a host, e.g. https://api.example.com/orders/{order_id}"));
        }
        if authority.contains(['{', '}']) {
            return Err(err("placeholders may appear only in the path and query, not in the host"));
        }
        if authority.contains('@') {
            return Err(err("url must not carry credentials: put them in a header"));
        }
        if s.contains('#') {
            return Err(err("url must not have a #fragment"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("url must not contain spaces or control characters"));
        }
        let template = Self(s.to_string());
        template.placeholders()?;
        Ok(template)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The placeholder names in order of appearance; an unbalanced or empty brace is an error.
    pub fn placeholders(&self) -> Result<Vec<&str>, ValidationError> {
        let mut names = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find(['{', '}']) {
            if rest.as_bytes()[open] == b'}' {
                return Err(ValidationError::new("url", "url has a `}` without its `{`"));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| ValidationError::new("url", "url has a `{` without its `}`"))?;
            let name = &after[..close];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(ValidationError::new(
                    "url",
                    format!("`{{{name}}}` is not a valid placeholder: use letters, digits and _"),
                ));
            }
            names.push(name);
            rest = &after[close + 1..];
        }
        Ok(names)
    }
}

/// How long a call may take: 1 to 30 seconds, default 10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct HttpToolTimeout(u32);

impl HttpToolTimeout {
    pub fn from_secs(secs: i64) -> Result<Self, ValidationError> {
        match u32::try_from(secs) {
            Ok(secs @ 1..=30) => Ok(Self(secs)),
            _ => Err(ValidationError::new("timeout_secs", "timeout_secs must be between 1 and 30")),
        }
    }

    pub fn as_secs(self) -> u32 {
        self.0
    }

    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.0))
    }
}

impl Default for HttpToolTimeout {
    fn default() -> Self {
        Self(10)
    }
}

/// The headers a tool sends, name → secret value. Values are write-only: `Debug` redacts them
/// and the API shows only the names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpToolHeaders(BTreeMap<String, Secret>);

/// Headers the HTTP client sets itself; a tool may not override them.
const RESERVED_HEADERS: [&str; 6] = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te"];

impl HttpToolHeaders {
    pub fn parse(headers: BTreeMap<String, String>) -> Result<Self, ValidationError> {
        let err = |m: String| ValidationError::new("headers", m);
        if headers.len() > 20 {
            return Err(err("at most 20 headers".into()));
        }
        let mut checked = BTreeMap::new();
        for (name, value) in headers {
            let is_token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.is_empty() || name.len() > 100 || !name.bytes().all(is_token) {
                return Err(err(format!("`{name}` is not a valid header name")));
            }
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(err(format!("`{name}` is set by confab and cannot be configured")));
            }
            if value.len() > 4096 || value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                return Err(err(format!("the value of `{name}` must be at most 4096 characters, on one line")));
            }
            if checked.insert(lower, Secret::new(value)).is_some() {
                return Err(err(format!("`{name}` is given twice")));
            }
        }
        Ok(Self(checked))
    }

    /// Lower-case header names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Name → value, for the request and for storage only.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for HttpToolHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.keys().map(|k| (k, "[redacted]"))).finish()
    }
}

/// Checks a tool's name: a valid [`ToolName`] that is not one of the built-in tools'.
pub fn parse_http_tool_name(name: &str) -> Result<ToolName, ValidationError> {
    let name = ToolName::parse(name).map_err(|e| ValidationError::new("name", e.message))?;
    if BUILT_IN_TOOLS.contains(&name.as_str()) {
        return Err(ValidationError::new("name", format!("`{name}` is a built-in tool's name: choose another")));
    }
    Ok(name)
}

/// Checks a tool's description: 1 to 1000 characters after trimming (the model reads it to
/// decide when to call the tool).
pub fn parse_http_tool_description(description: &str) -> Result<String, ValidationError> {
    let description = description.trim();
    if description.is_empty() || description.chars().count() > 1000 {
        return Err(ValidationError::new("description", "description must be 1 to 1000 characters"));
    }
    Ok(description.to_string())
}

/// Everything that defines an HTTP tool, checked as a whole.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpToolDefinition {
    pub name: ToolName,
    pub description: String,
    pub method: HttpMethod,
    pub url: UrlTemplate,
    pub headers: HttpToolHeaders,
    pub parameters: ParameterSchema,
    pub timeout: HttpToolTimeout,
}

impl HttpToolDefinition {
    /// The rules that span fields: every URL placeholder is a declared parameter.
    pub fn check(&self) -> Result<(), ValidationError> {
        let declared: Vec<&str> = self.parameters.property_names().collect();
        for placeholder in self.url.placeholders()? {
            if !declared.contains(&placeholder) {
                return Err(ValidationError::new(
                    "url",
                    format!("placeholder `{{{placeholder}}}` is not declared in parameters.properties"),
                ));
            }
        }
        Ok(())
    }
}

/// A stored HTTP tool.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpTool {
    pub id: HttpToolId,
    pub workspace_id: WorkspaceId,
    pub definition: HttpToolDefinition,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_templates() {
        let t = UrlTemplate::parse("https://api.example.com/orders/{order_id}?expand={part}").unwrap();
        assert_eq!(t.placeholders().unwrap(), ["order_id", "part"]);
        assert!(UrlTemplate::parse("http://127.0.0.1:8080/x").is_ok());
        for bad in [
            "ftp://example.com",
            "example.com/x",
            "https://",
            "https://{host}/x",
            "https://a.com/{",
            "https://a.com/}",
            "https://a.com/{}",
            "https://a.com/{a-b}",
            "https://user:pw@a.com/",
            "https://a.com/a b",
            "https://a.com/#frag",
        ] {
            assert_eq!(UrlTemplate::parse(bad).unwrap_err().field, "url", "{bad}");
        }
    }

    #[test]
    fn names_timeouts_methods_and_headers() {
        assert!(parse_http_tool_name("get_order").is_ok());
        assert_eq!(parse_http_tool_name("transfer_to_human").unwrap_err().field, "name");
        assert_eq!(parse_http_tool_name("has space").unwrap_err().field, "name");
        assert!(HttpToolTimeout::from_secs(0).is_err());
        assert!(HttpToolTimeout::from_secs(31).is_err());
        assert_eq!(HttpToolTimeout::from_secs(30).unwrap().as_secs(), 30);
        assert_eq!(HttpToolTimeout::default().as_secs(), 10);
        assert_eq!(HttpMethod::parse("patch").unwrap(), HttpMethod::Patch);
        assert!(HttpMethod::parse("HEAD").is_err());
        let headers =
            HttpToolHeaders::parse([("Authorization".to_string(), "Bearer sk-live-123".to_string())].into()).unwrap();
        assert_eq!(headers.names().collect::<Vec<_>>(), ["authorization"]);
        assert!(!format!("{headers:?}").contains("sk-live"));
        assert!(HttpToolHeaders::parse([("Host".to_string(), "x".to_string())].into()).is_err());
        assert!(HttpToolHeaders::parse([("X-A".to_string(), "a\r\nb".to_string())].into()).is_err());
        assert!(HttpToolHeaders::parse([("bad name".to_string(), "x".to_string())].into()).is_err());
    }

    #[test]
    fn placeholders_must_be_declared() {
        let definition = HttpToolDefinition {
            name: parse_http_tool_name("get_order").unwrap(),
            description: "Looks up an order".into(),
            method: HttpMethod::Get,
            url: UrlTemplate::parse("https://api.example.com/orders/{order_id}").unwrap(),
            headers: HttpToolHeaders::default(),
            parameters: ParameterSchema::empty(),
            timeout: HttpToolTimeout::default(),
        };
        assert!(definition.check().unwrap_err().message.contains("order_id"));
        let declared = HttpToolDefinition {
            parameters: ParameterSchema::parse(
                json!({ "type": "object", "properties": { "order_id": { "type": "string" } } }),
            )
            .unwrap(),
            ..definition
        };
        assert!(declared.check().is_ok());
    }
}
