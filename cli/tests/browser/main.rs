//! The hosted pages in a real browser: headless Chromium over WebDriver against the API on a
//! real socket, with mail through the real SES client to the emulator. Each flow starts from
//! the link in the mail, as the invitee would; screenshots land in `.local/screenshots/`.

mod driver;
mod flows;
mod relying_parties;
mod sso;

use std::net::SocketAddr;

use identity_testkit::{TestApp, ses};

pub const PASSWORD: &str = "correct horse battery";

/// The app served on a free loopback port, its mailed links pointing at its own pages.
pub struct Served {
    pub app: TestApp,
    pub base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn served() -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = ses::settings(&ses::url());
    let pages = format!("{base}/pages");
    let mut overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    overrides.push(("APP_BASE_URL", &pages));
    let app = TestApp::new(identity_cli::routes(), &overrides).await;
    let router = app.router.clone().into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Served { app, base, server }
}

/// An email address no other test uses (the emulator's mailbox is shared): a UUIDv7's random
/// tail, short enough to read in a screenshot.
pub fn unique(name: &str) -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("{name}.{}@example.com", &id[id.len() - 10..])
}

/// The link in the newest mail to `to` with this subject.
pub async fn link_in_mail(to: &str, subject_starts: &str) -> String {
    let mails = ses::mails_to(to).await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m["subject"].as_str().is_some_and(|s| s.starts_with(subject_starts) || s.ends_with(subject_starts)))
        .unwrap_or_else(|| panic!("no '{subject_starts}' mail to {to}"));
    let text = mail["body"]["text"].as_str().unwrap();
    let start = text.find("http").expect("a link in the mail");
    text[start..].split_whitespace().next().unwrap().trim_end_matches(['.', ')']).to_owned()
}
