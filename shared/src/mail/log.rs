//! The local-development transport: prints each message, link included, to standard output.

use super::Email;

/// Prints the message and returns a made-up message id. Only for local runs: the body holds
/// a live link, which is why this goes to standard output and not through the log pipeline.
pub fn print(from: &str, email: &Email) -> String {
    let id = format!("log-{}", uuid::Uuid::now_v7());
    println!(
        "\n----- email {id}\nFrom: {from}\nTo: {}\nSubject: {}\n\n{}\n----- end of email\n",
        email.to, email.subject, email.text
    );
    id
}
