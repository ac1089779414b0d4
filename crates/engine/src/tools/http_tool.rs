//! A workspace's HTTP tool as a [`Tool`]: the model's arguments are checked against the tool's
//! parameter schema, fill the URL's `{param}` placeholders (percent-encoded) and go as the
//! query string (GET, DELETE) or a JSON body (POST, PUT, PATCH); the tool's secret headers
//! are sent; the call has the tool's timeout; the response is capped at
//! [`MAX_RESPONSE_BYTES`]. Redirects are not followed, and where the request may go is the
//! [`network_guard`](super::network_guard)'s decision.
//!
//! Every failure — bad arguments, a refused address, a timeout, a non-2xx answer — is a tool
//! error the model reads; nothing here fails the turn. Header values never appear in a result
//! or an error.

use super::network_guard::{GuardedResolver, HttpToolPolicy, Refused};
use super::{Tool, ToolContext, ToolRun};
use async_trait::async_trait;
use confab_assistant::ToolSpec;
use confab_domain::{HttpMethod, HttpTool};
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use std::sync::Arc;

/// The most response body passed back to the model; the rest is cut with a note.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The HTTP client every HTTP tool call goes through: DNS answers checked by the policy, no
/// proxy, no redirects.
pub struct HttpToolClient {
    client: reqwest::Client,
    policy: Arc<HttpToolPolicy>,
}

impl HttpToolClient {
    pub fn new(policy: HttpToolPolicy) -> Result<Self, String> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(Arc::clone(&policy))))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION"), " (HTTP tool)"))
            .build()
            .map_err(|e| format!("cannot set up the HTTP tools client: {e}"))?;
        Ok(Self { client, policy })
    }
}

/// One HTTP tool, ready for a turn.
pub struct HttpToolCall {
    tool: HttpTool,
    client: Arc<HttpToolClient>,
}

impl HttpToolCall {
    pub fn new(tool: HttpTool, client: Arc<HttpToolClient>) -> Self {
        Self { tool, client }
    }
}

#[async_trait]
impl Tool for HttpToolCall {
    fn spec(&self) -> ToolSpec {
        let d = &self.tool.definition;
        ToolSpec {
            name: d.name.to_string(),
            description: d.description.clone(),
            parameters: d.parameters.as_value().clone(),
        }
    }

    async fn call(&self, _context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let arguments = if arguments.is_null() { json!({}) } else { arguments.clone() };
        if let Err(problem) = self.tool.definition.parameters.validate(&arguments) {
            return ToolRun::error(format!("invalid arguments, nothing was sent: {problem}"));
        }
        match self.send(arguments).await {
            Ok(result) => ToolRun::ok(result),
            Err(error) => ToolRun::error(error),
        }
    }
}

impl HttpToolCall {
    async fn send(&self, arguments: Value) -> Result<Value, String> {
        let d = &self.tool.definition;
        let mut remaining = match arguments {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let url = fill_placeholders(d.url.as_str(), &mut remaining)?;
        let mut url =
            reqwest::Url::parse(&url).map_err(|e| format!("the tool's URL is not valid once filled in: {e}"))?;
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
        if let Ok(ip) = host.parse::<IpAddr>() {
            // IP literals are connected to directly, without the guarded resolver
            self.client.policy.check_ip(&ip.to_string(), ip).map_err(|refused| refused.to_string())?;
        }
        let method = match d.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        };
        if d.method.sends_arguments_as_query() && !remaining.is_empty() {
            let mut query = url.query_pairs_mut();
            for (name, value) in &remaining {
                match value {
                    Value::Null => {}
                    Value::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
                        for item in items {
                            query.append_pair(name, &as_text(item));
                        }
                    }
                    other => {
                        query.append_pair(name, &as_text(other));
                    }
                }
            }
        }
        let mut request = self.client.client.request(method, url).header("accept", "application/json, text/*;q=0.9");
        for (name, value) in d.headers.iter() {
            request = request.header(name, value.expose());
        }
        if !d.method.sends_arguments_as_query() {
            request = request.json(&Value::Object(remaining));
        }
        let timeout = d.timeout.as_duration();
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(format!("the API did not answer within {} s (the tool's timeout)", d.timeout.as_secs())),
        }
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Value, String> {
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            let room = MAX_RESPONSE_BYTES - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let text = || {
            let mut text = String::from_utf8_lossy(&body).into_owned();
            if truncated {
                // a cut inside a UTF-8 sequence shows as one replacement character at the end
                text.push_str(&format!(
                    "\n[truncated: the response was longer than {MAX_RESPONSE_BYTES} bytes; only the first {MAX_RESPONSE_BYTES} are shown]"
                ));
            }
            text
        };
        if !status.is_success() {
            let snippet: String = text().chars().take(1000).collect();
            let redirect = if status.is_redirection() { " (redirects are not followed)" } else { "" };
            return Err(format!("the API answered HTTP {}{redirect}: {snippet}", status.as_u16()));
        }
        let body = match (is_json && !truncated).then(|| serde_json::from_slice::<Value>(&body).ok()).flatten() {
            Some(json) => json,
            None => Value::String(text()),
        };
        let mut result = json!({ "status": status.as_u16(), "body": body });
        if truncated {
            result["truncated"] = json!(true);
        }
        Ok(result)
    }
}

/// The URL template with each `{name}` replaced by its argument, percent-encoded; the
/// arguments used are taken out of `arguments`.
fn fill_placeholders(template: &str, arguments: &mut Map<String, Value>) -> Result<String, String> {
    let mut url = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        url.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("the tool's URL has an unclosed `{`")?;
        let name = &after[..close];
        match arguments.remove(name) {
            Some(value) if !value.is_null() => url.push_str(&percent_encode(&as_text(&value))),
            _ => {
                return Err(format!(
                    "invalid arguments, nothing was sent: `{name}` is required (it is part of the URL)"
                ))
            }
        }
        rest = &after[close + 1..];
    }
    url.push_str(rest);
    Ok(url)
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Everything but RFC 3986 unreserved characters, so a value stays inside its path segment.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What went wrong with the exchange, in words (without the URL, which may carry arguments, and
/// never with a header).
fn describe(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        source = err.source();
    }
    if error.is_timeout() {
        return "the API did not answer in time".into();
    }
    let mut message =
        String::from(if error.is_connect() { "could not connect to the API" } else { "the request failed" });
    let mut source = std::error::Error::source(error);
    while let Some(err) = source {
        message.push_str(": ");
        message.push_str(&err.to_string());
        source = err.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_percent_encoded_and_taken_out() {
        let mut args = json!({ "id": "A 1/2?x", "n": 3, "rest": true }).as_object().cloned().unwrap_or_default();
        let url = fill_placeholders("https://api.example.com/o/{id}/n/{n}", &mut args).unwrap_or_default();
        assert_eq!(url, "https://api.example.com/o/A%201%2F2%3Fx/n/3");
        assert_eq!(args.keys().collect::<Vec<_>>(), ["rest"]);
        let mut none = Map::new();
        assert!(fill_placeholders("https://a.com/{id}", &mut none).unwrap_err().contains("`id` is required"));
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
