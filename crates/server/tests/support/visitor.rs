//! A signed-in dashboard visitor over plain HTTP: its session cookie and CSRF token, and
//! GET/POST helpers that send them.

use super::TestApp;
use confab_domain::{Email, UserRole};
use confab_storage::NewUser;
use reqwest::header::{COOKIE, SET_COOKIE};

pub const PASSWORD: &str = "correct horse battery";

pub struct Visitor {
    pub client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

/// Adds a user with `role` and signs them in.
pub async fn login(app: &TestApp, email: &str, role: UserRole) -> Visitor {
    let password_hash = confab_server::passwords::hash(PASSWORD).expect("hash");
    let user = NewUser { workspace_id: app.workspace, email: Email::parse(email).expect("email"), role, password_hash };
    app.store.create_user(user).await.expect("user");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let response =
        client.post(app.url("/login")).form(&[("email", email), ("password", PASSWORD)]).send().await.expect("login");
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("confab_session=") && !v.starts_with("confab_session=;"))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let page = client.get(app.url("/conversations")).header(COOKIE, &cookie).send().await.expect("page");
    let html = page.text().await.expect("html");
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    Visitor { client, cookie, csrf: html[start..start + 64].to_string() }
}

impl Visitor {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client.get(app.url(path)).header(COOKIE, &self.cookie).send().await.expect("request")
    }

    /// POSTs the form with the session's CSRF token.
    pub async fn post(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.post_without_csrf(app, path, &form).await
    }

    /// POSTs exactly `fields`: no CSRF token unless given.
    pub async fn post_without_csrf(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(app.url(path)).header(COOKIE, &self.cookie).form(fields).send().await.expect("request")
    }
}
