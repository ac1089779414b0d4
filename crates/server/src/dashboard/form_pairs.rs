//! A urlencoded form read as its pairs in order, for forms that repeat a field name
//! (checkboxes, row editors) — which `axum::Form`'s serde mapping does not keep.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

pub struct FormPairs(Vec<(String, String)>);

impl FormPairs {
    /// The first value of `name`, or empty.
    pub fn one(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Every value of `name`, in the form's order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = (StatusCode, &'static str);

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(request, state).await.map_err(|_| (StatusCode::BAD_REQUEST, "unreadable form"))?;
        Ok(Self(form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_keep_every_value_in_order() {
        let form = FormPairs(
            form_urlencoded::parse(b"tools=a&name=x&tools=b%20c")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        );
        assert_eq!(form.all("tools"), ["a", "b c"]);
        assert_eq!(form.one("name"), "x");
        assert_eq!(form.one("missing"), "");
    }
}
