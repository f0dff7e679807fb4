//! The messages the service sends, rendered from an outbox row's template and payload.

use chrono::{DateTime, Utc};
use html_escape::encode_text as h;
use serde_json::Value;

use super::Email;

/// Invitation to join an organization.
pub const INVITATION: &str = "invitation";
/// Proof of an email address after registration.
pub const VERIFY_EMAIL: &str = "verify_email";
/// Link to choose a new password.
pub const RESET_PASSWORD: &str = "reset_password";
/// Someone tried to register an address that already has an account; the register answer
/// cannot say so without telling everyone which addresses are registered.
pub const ACCOUNT_EXISTS: &str = "account_exists";

/// Link to move an account to the address it is sent to.
pub const CONFIRM_EMAIL_CHANGE: &str = "confirm_email_change";
/// Tells the current address that a move to another was asked.
pub const EMAIL_CHANGE_NOTICE: &str = "email_change_notice";
/// Tells an address that already has an account that another asked to move to it; the answer
/// to the asker cannot say so without telling which addresses are registered.
pub const EMAIL_IN_USE: &str = "email_in_use";

fn text<'a>(payload: &'a Value, key: &str) -> Result<&'a str, String> {
    payload[key].as_str().ok_or_else(|| format!("payload lacks {key}"))
}

fn when(payload: &Value) -> Result<String, String> {
    let raw = text(payload, "expires_at")?;
    let at: DateTime<Utc> = raw.parse().map_err(|_| format!("bad expires_at {raw}"))?;
    Ok(at.format("%Y-%m-%d %H:%M UTC").to_string())
}

fn page(title: &str, paragraphs: &[String], link: &str, button: &str) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}\
         <p><a href=\"{href}\" style=\"display:inline-block;padding:10px 16px;background:#1f6feb;color:#fff;text-decoration:none;border-radius:6px\">{button}</a></p>\n\
         <p style=\"color:#666;font-size:12px\">Or paste this link into your browser: {link_text}</p>\n</body></html>\n",
        title = h(title),
        href = html_escape::encode_double_quoted_attribute(link),
        link_text = h(link),
    )
}

/// Renders a template with its payload.
pub fn render(template: &str, to: &str, payload: &Value) -> Result<Email, String> {
    let link = text(payload, "link")?;
    match template {
        ACCOUNT_EXISTS => return account_exists(to, payload, link),
        EMAIL_CHANGE_NOTICE => return email_change_notice(to, payload, link),
        EMAIL_IN_USE => return email_in_use(to, payload, link),
        _ => {}
    }
    let expires = when(payload)?;
    let (subject, text_body, html) = match template {
        INVITATION => {
            let org = text(payload, "org_name")?;
            let inviter = text(payload, "inviter_name")?;
            let inviter_email = text(payload, "inviter_email")?;
            let roles: Vec<&str> =
                payload["roles"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let roles = if roles.is_empty() { "no role yet".to_owned() } else { roles.join(", ") };
            let subject = format!("{inviter} invited you to join {org}");
            let text_body = format!(
                "{inviter} ({inviter_email}) invited you ({to}) to join {org} as: {roles}.\n\n\
                 Accept the invitation: {link}\n\nThe invitation expires on {expires}. \
                 If you did not expect it, ignore this email.\n"
            );
            let html = page(
                &subject,
                &[
                    format!(
                        "{} ({}) invited you ({}) to join <strong>{}</strong> as: {}.",
                        h(inviter),
                        h(inviter_email),
                        h(to),
                        h(org),
                        h(&roles)
                    ),
                    format!("The invitation expires on {expires}. If you did not expect it, ignore this email."),
                ],
                link,
                "Accept the invitation",
            );
            (subject, text_body, html)
        }
        VERIFY_EMAIL => {
            let name = text(payload, "name")?;
            let subject = "Confirm your email address".to_owned();
            let text_body =
                format!("Hello {name},\n\nConfirm your email address: {link}\n\nThe link expires on {expires}.\n");
            let html = page(
                &subject,
                &[format!("Hello {},", h(name)), format!("Confirm your email address. The link expires on {expires}.")],
                link,
                "Confirm my email",
            );
            (subject, text_body, html)
        }
        RESET_PASSWORD => {
            let name = text(payload, "name")?;
            let subject = "Reset your password".to_owned();
            let text_body = format!(
                "Hello {name},\n\nChoose a new password: {link}\n\nThe link expires on {expires}. \
                 If you did not ask for this, ignore this email: your password stays as it is.\n"
            );
            let html = page(
                &subject,
                &[
                    format!("Hello {},", h(name)),
                    format!(
                        "Choose a new password. The link expires on {expires}. If you did not ask for this, ignore this email: your password stays as it is."
                    ),
                ],
                link,
                "Choose a new password",
            );
            (subject, text_body, html)
        }
        CONFIRM_EMAIL_CHANGE => {
            let name = text(payload, "name")?;
            let subject = "Confirm your new email address".to_owned();
            let text_body = format!(
                "Hello {name},\n\nYou asked to sign in with this address ({to}) from now on. Confirm it: {link}\n\n\
                 The link expires on {expires}. If you did not ask for this, ignore this email: nothing changes.\n"
            );
            let html = page(
                &subject,
                &[
                    format!("Hello {},", h(name)),
                    format!(
                        "You asked to sign in with this address ({}) from now on. The link expires on {expires}. If you did not ask for this, ignore this email: nothing changes.",
                        h(to)
                    ),
                ],
                link,
                "Confirm my new address",
            );
            (subject, text_body, html)
        }
        other => return Err(format!("unknown template {other}")),
    };
    Ok(Email { to: to.to_owned(), subject, html, text: text_body })
}

fn account_exists(to: &str, payload: &Value, link: &str) -> Result<Email, String> {
    let name = text(payload, "name")?;
    let subject = "You already have an account".to_owned();
    let text_body = format!(
        "Hello {name},\n\nSomeone, perhaps you, tried to create an account with this address ({to}), \
         but it already has one; nothing was changed. Sign in as usual, or if you forgot your \
         password choose a new one: {link}\n\nIf this was not you, ignore this email.\n"
    );
    let html = page(
        &subject,
        &[
            format!("Hello {},", h(name)),
            format!(
                "Someone, perhaps you, tried to create an account with this address ({}), but it already has one; nothing was changed. Sign in as usual, or if you forgot your password choose a new one.",
                h(to)
            ),
            "If this was not you, ignore this email.".to_owned(),
        ],
        link,
        "Choose a new password",
    );
    Ok(Email { to: to.to_owned(), subject, html, text: text_body })
}

fn email_change_notice(to: &str, payload: &Value, link: &str) -> Result<Email, String> {
    let name = text(payload, "name")?;
    let new_email = text(payload, "new_email")?;
    let reset = text(payload, "reset_link")?;
    let expires = when(payload)?;
    let subject = "Your sign-in address is being changed".to_owned();
    let text_body = format!(
        "Hello {name},\n\nSomeone signed in to your account asked to move it from {to} to {new_email}. \
         It moves once the link mailed there is used (until {expires}).\n\n\
         If this was not you, cancel the change: {link}\n\n\
         Then choose a new password, which also ends every session and any change still pending: {reset}\n"
    );
    let html = page(
        &subject,
        &[
            format!("Hello {},", h(name)),
            format!(
                "Someone signed in to your account asked to move it from {} to <strong>{}</strong>. It moves once the link mailed there is used (until {expires}).",
                h(to),
                h(new_email)
            ),
            format!(
                "If this was not you, cancel the change with the button below, then <a href=\"{}\">choose a new password</a>, which also ends every session and any change still pending.",
                html_escape::encode_double_quoted_attribute(reset)
            ),
        ],
        link,
        "Cancel this change",
    );
    Ok(Email { to: to.to_owned(), subject, html, text: text_body })
}

fn email_in_use(to: &str, payload: &Value, link: &str) -> Result<Email, String> {
    let name = text(payload, "name")?;
    let subject = "Someone tried to use your address".to_owned();
    let text_body = format!(
        "Hello {name},\n\nSomeone asked to move another account to this address ({to}), but it already \
         has an account, yours; nothing was changed. If you forgot your password, choose a new one: {link}\n"
    );
    let html = page(
        &subject,
        &[
            format!("Hello {},", h(name)),
            format!(
                "Someone asked to move another account to this address ({}), but it already has an account, yours; nothing was changed.",
                h(to)
            ),
        ],
        link,
        "Choose a new password",
    );
    Ok(Email { to: to.to_owned(), subject, html, text: text_body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn invitation_names_everyone_and_escapes_html() {
        let payload = json!({
            "org_name": "Acme <script>", "inviter_name": "Ada & Co", "inviter_email": "ada@example.com",
            "roles": ["admin", "support"], "expires_at": "2026-12-03T09:00:00Z",
            "link": "https://app.example.com/invitations/accept?token=abc\"x",
        });
        let mail = render(INVITATION, "bob@example.com", &payload).unwrap();
        assert_eq!(mail.subject, "Ada & Co invited you to join Acme <script>");
        assert!(mail.text.contains("invited you (bob@example.com) to join Acme <script> as: admin, support"));
        assert!(mail.text.contains("expires on 2026-12-03 09:00 UTC"));
        assert!(mail.text.contains("token=abc\"x"));
        assert!(mail.html.contains("Acme &lt;script&gt;"));
        assert!(mail.html.contains("Ada &amp; Co"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("token=abc&quot;x"));
    }

    #[test]
    fn account_mails_render_and_bad_payloads_are_refused() {
        let payload = json!({"name": "Ada", "link": "https://x/verify?token=t", "expires_at": "2026-12-03T09:00:00Z"});
        assert!(render(VERIFY_EMAIL, "a@example.com", &payload).unwrap().text.contains("https://x/verify?token=t"));
        assert!(render(RESET_PASSWORD, "a@example.com", &payload).unwrap().subject.contains("Reset"));
        let exists = json!({"name": "Ada <b>", "link": "https://x/forgot-password"});
        let mail = render(ACCOUNT_EXISTS, "a@example.com", &exists).unwrap();
        assert!(mail.text.contains("already has one") && mail.text.contains("https://x/forgot-password"));
        assert!(mail.html.contains("Ada &lt;b&gt;"));
        assert!(render("unknown", "a@example.com", &payload).is_err());
        assert!(render(VERIFY_EMAIL, "a@example.com", &json!({"name": "Ada"})).is_err());
    }

    #[test]
    fn email_change_mails_say_where_to_and_escape_it() {
        let confirm = json!({"name": "Ada", "link": "https://x/confirm-email-change?token=t", "expires_at": "2026-12-03T09:00:00Z"});
        let mail = render(CONFIRM_EMAIL_CHANGE, "new@example.com", &confirm).unwrap();
        assert!(
            mail.text.contains("new@example.com")
                && mail.text.contains("token=t")
                && mail.text.contains("2026-12-03 09:00")
        );
        let notice = json!({"name": "Ada", "new_email": "<new>@example.com", "link": "https://x/cancel-email-change?token=c",
                            "reset_link": "https://x/forgot-password", "expires_at": "2026-12-03T09:00:00Z"});
        let mail = render(EMAIL_CHANGE_NOTICE, "old@example.com", &notice).unwrap();
        assert!(mail.text.contains("from old@example.com to <new>@example.com"));
        assert!(mail.text.contains("cancel-email-change?token=c") && mail.text.contains("https://x/forgot-password"));
        assert!(mail.html.contains("&lt;new&gt;@example.com") && !mail.html.contains("<new>"));
        let in_use = json!({"name": "Bob", "link": "https://x/forgot-password"});
        assert!(render(EMAIL_IN_USE, "bob@example.com", &in_use).unwrap().text.contains("already has an account"));
        assert!(render(EMAIL_CHANGE_NOTICE, "old@example.com", &json!({"name": "Ada", "link": "l"})).is_err());
    }
}
