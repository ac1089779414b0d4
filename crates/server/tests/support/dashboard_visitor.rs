//! A signed-in dashboard visitor for the dashboard's tests over plain HTTP: users with a
//! password, logging in, the session cookie and the page's CSRF token, and GET/POST with them.

#![allow(clippy::unwrap_used)]

use super::TestApp;
use confab_domain::{Email, UserRole};
use confab_storage::NewUser;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;

pub const PASSWORD: &str = "correct horse battery";

/// A signed-in browser: the session cookie and the page's CSRF token.
pub struct Visitor {
    pub client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub async fn add_user(app: &TestApp, email: &str, role: UserRole) {
    let password_hash = confab_server::passwords::hash(PASSWORD).unwrap();
    app.store
        .create_user(NewUser { workspace_id: app.workspace, email: Email::parse(email).unwrap(), role, password_hash })
        .await
        .unwrap();
}

pub async fn login(app: &TestApp, email: &str, role: UserRole) -> Visitor {
    add_user(app, email, role).await;
    let client = no_redirects();
    let response =
        client.post(app.url("/login")).form(&[("email", email), ("password", PASSWORD)]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&response).expect("a session cookie");
    let page = client.get(app.url("/conversations")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_of(&page.text().await.unwrap());
    Visitor { client, cookie, csrf }
}

pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("confab_session=") && !v.starts_with("confab_session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

pub fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..start + 64].to_string()
}

impl Visitor {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client.get(app.url(path)).header(COOKIE, &self.cookie).send().await.unwrap()
    }

    /// POSTs the form with the session's CSRF token.
    pub async fn post(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.post_without_csrf(app, path, &form).await
    }

    /// POSTs exactly `fields`: no CSRF token unless given.
    pub async fn post_without_csrf(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(app.url(path)).header(COOKIE, &self.cookie).form(fields).send().await.unwrap()
    }
}
