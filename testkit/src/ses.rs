//! The local SES emulator (aws-ses-v2-local) that scripts/test starts: where it is, and the
//! mail it received.

use axum::body::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The emulator's base URL, from SES_EMULATOR_URL.
pub fn url() -> String {
    std::env::var("SES_EMULATOR_URL")
        .expect("set SES_EMULATOR_URL to a running aws-ses-v2-local (scripts/test starts one)")
        .trim_end_matches('/')
        .to_owned()
}

/// Settings that send mail through the real SES client to `endpoint`.
pub fn settings(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MAIL_TRANSPORT", "ses".into()),
        ("AWS_ENDPOINT_URL_SES", endpoint.into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("MAIL_FROM", "Identity <no-reply@identity.test>".into()),
        ("APP_BASE_URL", "https://app.identity.test".into()),
        ("SES_CONNECT_TIMEOUT_MS", "500".into()),
        ("SES_TIMEOUT_MS", "2000".into()),
    ]
}

/// Every mail the emulator holds for this recipient, oldest first.
pub async fn mails_to(recipient: &str) -> Vec<Value> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri = format!("{}/store", url()).parse().expect("emulator url");
    let response = client.get(uri).await.expect("the SES emulator answers GET /store");
    let body = response.into_body().collect().await.expect("store body").to_bytes();
    let store: Value = serde_json::from_slice(&body).expect("store is JSON");
    store["emails"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|m| m["destination"]["to"].as_array().is_some_and(|to| to.iter().any(|t| t == recipient)))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The newest mail to `to` with this subject; panics when there is none.
pub async fn mail_with_subject(to: &str, subject: &str) -> Value {
    mails_to(to)
        .await
        .into_iter()
        .rev()
        .find(|m| m["subject"] == subject)
        .unwrap_or_else(|| panic!("no '{subject}' mail for {to}"))
}

/// The token in the first link of a mail's text body.
pub fn token_in(mail: &Value) -> String {
    let text = mail["body"]["text"].as_str().expect("a text body");
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}
