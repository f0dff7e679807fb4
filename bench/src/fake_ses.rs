//! A fake SES endpoint for the real aws-sdk-ses client: it answers SendEmail, counts the mail
//! and hands each link's token to whoever waits for that recipient.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use tokio::sync::{Mutex, oneshot};

/// What the endpoint has received.
#[derive(Default)]
pub struct Mailbox {
    waiting: Mutex<HashMap<String, oneshot::Sender<String>>>,
    sent: AtomicUsize,
}

impl Mailbox {
    /// A receiver of the token in the next mail to `to`.
    pub async fn expect(&self, to: &str) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().await.insert(to.to_owned(), tx);
        rx
    }

    /// SendEmail calls answered so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }
}

/// Serves the endpoint on 127.0.0.1:`port` until the process ends.
pub async fn serve(port: u16) -> anyhow::Result<Arc<Mailbox>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.context("fake SES port")?;
    let mailbox = Arc::new(Mailbox::default());
    let app = Router::new().route("/", post(send_email)).with_state(mailbox.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(mailbox)
}

/// SES v1 SendEmail (query protocol): takes the link's token out of the text body.
async fn send_email(State(mailbox): State<Arc<Mailbox>>, body: Bytes) -> ([(&'static str, &'static str); 1], String) {
    let fields: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let to = fields.get("Destination.ToAddresses.member.1").cloned().unwrap_or_default();
    let text = fields.get("Message.Body.Text.Data").cloned().unwrap_or_default();
    mailbox.sent.fetch_add(1, Ordering::Relaxed);
    if let Some(start) = text.find("token=") {
        let token: String =
            text[start + 6..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        if let Some(tx) = mailbox.waiting.lock().await.remove(&to) {
            let _ = tx.send(token);
        }
    }
    let xml = "<SendEmailResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><SendEmailResult>\
               <MessageId>bench</MessageId></SendEmailResult><ResponseMetadata><RequestId>bench</RequestId>\
               </ResponseMetadata></SendEmailResponse>";
    ([("content-type", "text/xml")], xml.to_owned())
}
