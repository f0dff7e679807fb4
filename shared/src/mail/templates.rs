//! The messages the service sends: one typed value per kind of mail, stored in the outbox as
//! its template name and JSON payload, and rendered here, in one place.

use chrono::{DateTime, Utc};
use html_escape::encode_text as h;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Email;
use crate::brand::Brand;

/// A mail to send. Each variant's fields are its outbox payload, so a mail that is queued
/// has everything it needs to render: a missing field is a compile error, not a dead row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", content = "payload", rename_all = "snake_case")]
pub enum Mail {
    /// Invitation to join an organization.
    Invitation {
        /// The organization's name.
        org_name: String,
        /// Who invites.
        inviter_name: String,
        /// Their address; none when the organization itself (an API key) invites.
        #[serde(default)]
        inviter_email: Option<String>,
        /// The roles the invitation grants.
        roles: Vec<String>,
        /// When the link stops working.
        expires_at: DateTime<Utc>,
        /// The invitation page, with the token.
        link: String,
        /// The organization's logo, shown above the invitation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        org_logo_url: Option<String>,
    },
    /// Proof of an email address after registration.
    VerifyEmail {
        /// The account's display name.
        name: String,
        /// The verification page, with the token.
        link: String,
        /// When the link stops working.
        expires_at: DateTime<Utc>,
    },
    /// Link to choose a new password.
    ResetPassword {
        /// The account's display name.
        name: String,
        /// The reset page, with the token.
        link: String,
        /// When the link stops working.
        expires_at: DateTime<Utc>,
    },
    /// Someone tried to register an address that already has an account; the register answer
    /// cannot say so without telling everyone which addresses are registered.
    AccountExists {
        /// The account's display name.
        name: String,
        /// The forgot-password page.
        link: String,
    },
    /// Link to move an account to the address it is sent to.
    ConfirmEmailChange {
        /// The account's display name.
        name: String,
        /// The confirmation page, with the token.
        link: String,
        /// When the link stops working.
        expires_at: DateTime<Utc>,
    },
    /// Tells the current address that a move to another was asked.
    EmailChangeNotice {
        /// The account's display name.
        name: String,
        /// The address asked for.
        new_email: String,
        /// The cancel page, with its token.
        link: String,
        /// The forgot-password page.
        reset_link: String,
        /// When the asked change lapses.
        expires_at: DateTime<Utc>,
    },
    /// Tells an address that already has an account that another asked to move to it; the
    /// answer to the asker cannot say so without telling which addresses are registered.
    EmailInUse {
        /// The owning account's display name.
        name: String,
        /// The forgot-password page.
        link: String,
    },
    /// Tells a webhook endpoint's owners (an organization's owners, or the platform admins)
    /// that the sender disabled it.
    WebhookEndpointDisabled {
        /// The endpoint's id.
        endpoint_id: String,
        /// The receiver's origin (never its path or query, which may carry a secret).
        url: String,
        /// `gone` (it answered 410) or `failing` (five days of failed attempts).
        reason: String,
        /// The organization's name; none for a platform endpoint.
        #[serde(default)]
        org_name: Option<String>,
    },
}

/// The (template, payload) pair an outbox row stores.
#[derive(Deserialize, Serialize)]
struct Row {
    template: String,
    payload: Value,
}

impl Mail {
    /// The outbox row's template name and payload.
    pub fn to_row(&self) -> (String, Value) {
        // A Mail is strings, string lists and timestamps: serialising it cannot fail.
        let row: Row = serde_json::to_value(self)
            .and_then(serde_json::from_value)
            .expect("a Mail serialises to a template and a payload");
        (row.template, row.payload)
    }

    /// The mail an outbox row holds; an error names what does not fit (a row written by a
    /// later version, or edited by hand).
    pub fn from_row(template: &str, payload: &Value) -> Result<Mail, serde_json::Error> {
        serde_json::from_value(serde_json::json!({"template": template, "payload": payload}))
    }

    /// The message, addressed to `to`.
    pub fn render(&self, to: &str, brand: &Brand) -> Email {
        let org_logo = match self {
            Mail::Invitation { org_logo_url, .. } => org_logo_url.as_deref(),
            _ => None,
        };
        let look = Look { brand, org_logo };
        let (subject, text, html) = match self {
            Mail::Invitation { org_name, inviter_name, inviter_email, roles, expires_at, link, .. } => {
                invitation(&look, to, org_name, (inviter_name, inviter_email.as_deref()), roles, *expires_at, link)
            }
            Mail::VerifyEmail { name, link, expires_at } => verify_email(&look, name, link, *expires_at),
            Mail::ResetPassword { name, link, expires_at } => reset_password(&look, name, link, *expires_at),
            Mail::AccountExists { name, link } => account_exists(&look, to, name, link),
            Mail::ConfirmEmailChange { name, link, expires_at } => {
                confirm_email_change(&look, to, name, link, *expires_at)
            }
            Mail::EmailChangeNotice { name, new_email, link, reset_link, expires_at } => {
                email_change_notice(&look, to, name, new_email, link, reset_link, *expires_at)
            }
            Mail::EmailInUse { name, link } => email_in_use(&look, to, name, link),
            Mail::WebhookEndpointDisabled { endpoint_id, url, reason, org_name } => {
                webhook_endpoint_disabled(&look, endpoint_id, url, reason, org_name.as_deref())
            }
        };
        // Text mail signs with the product's name.
        let text = format!("{text}\n-- \n{}\n", brand.name);
        Email { to: to.to_owned(), subject, html, text }
    }
}

/// Subject, text body and HTML body.
type Parts = (String, String, String);

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The product's look in a mail: its brand, and an organization's logo where the mail is the
/// organization's.
struct Look<'a> {
    brand: &'a Brand,
    org_logo: Option<&'a str>,
}

fn page(look: &Look<'_>, title: &str, paragraphs: &[String], link: &str, button: &str) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    let logo = |url: &str, alt: &str| {
        format!(
            "<img src=\"{}\" alt=\"{}\" style=\"max-height:40px;max-width:200px;display:block;margin-bottom:8px\">",
            html_escape::encode_double_quoted_attribute(url),
            html_escape::encode_double_quoted_attribute(alt)
        )
    };
    let header = format!(
        "<p style=\"font-weight:bold;font-size:18px\">{}{}</p>\n{}",
        look.brand.logo_url.as_deref().map(|u| logo(u, "")).unwrap_or_default(),
        h(&look.brand.name),
        look.org_logo.map(|u| logo(u, "Organization logo")).unwrap_or_default(),
    );
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n{header}{body}\
         <p><a href=\"{href}\" style=\"display:inline-block;padding:10px 16px;background:{accent};color:#fff;text-decoration:none;border-radius:6px\">{button}</a></p>\n\
         <p style=\"color:#666;font-size:12px\">Or paste this link into your browser: {link_text}</p>\n</body></html>\n",
        title = h(title),
        href = html_escape::encode_double_quoted_attribute(link),
        link_text = h(link),
        accent = look.brand.accent_hex(),
    )
}

fn invitation(
    look: &Look<'_>,
    to: &str,
    org: &str,
    (inviter, inviter_email): (&str, Option<&str>),
    roles: &[String],
    expires_at: DateTime<Utc>,
    link: &str,
) -> Parts {
    let expires = when(expires_at);
    let roles = if roles.is_empty() { "no role yet".to_owned() } else { roles.join(", ") };
    let subject = format!("{inviter} invited you to join {org}");
    let from = match inviter_email {
        Some(email) => format!("{inviter} ({email})"),
        None => inviter.to_owned(),
    };
    let text = format!(
        "{from} invited you ({to}) to join {org} as: {roles}.\n\n\
         Accept the invitation: {link}\n\nThe invitation expires on {expires}. \
         If you did not expect it, ignore this email.\n"
    );
    let html = page(
        look,
        &subject,
        &[
            format!("{} invited you ({}) to join <strong>{}</strong> as: {}.", h(&from), h(to), h(org), h(&roles)),
            format!("The invitation expires on {expires}. If you did not expect it, ignore this email."),
        ],
        link,
        "Accept the invitation",
    );
    (subject, text, html)
}

fn verify_email(look: &Look<'_>, name: &str, link: &str, expires_at: DateTime<Utc>) -> Parts {
    let expires = when(expires_at);
    let subject = "Confirm your email address".to_owned();
    let text = format!("Hello {name},\n\nConfirm your email address: {link}\n\nThe link expires on {expires}.\n");
    let html = page(
        look,
        &subject,
        &[format!("Hello {},", h(name)), format!("Confirm your email address. The link expires on {expires}.")],
        link,
        "Confirm my email",
    );
    (subject, text, html)
}

fn reset_password(look: &Look<'_>, name: &str, link: &str, expires_at: DateTime<Utc>) -> Parts {
    let expires = when(expires_at);
    let subject = "Reset your password".to_owned();
    let text = format!(
        "Hello {name},\n\nChoose a new password: {link}\n\nThe link expires on {expires}. \
         If you did not ask for this, ignore this email: your password stays as it is.\n"
    );
    let html = page(
        look,
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
    (subject, text, html)
}

fn confirm_email_change(look: &Look<'_>, to: &str, name: &str, link: &str, expires_at: DateTime<Utc>) -> Parts {
    let expires = when(expires_at);
    let subject = "Confirm your new email address".to_owned();
    let text = format!(
        "Hello {name},\n\nYou asked to sign in with this address ({to}) from now on. Confirm it: {link}\n\n\
         The link expires on {expires}. If you did not ask for this, ignore this email: nothing changes.\n"
    );
    let html = page(
        look,
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
    (subject, text, html)
}

fn account_exists(look: &Look<'_>, to: &str, name: &str, link: &str) -> Parts {
    let subject = "You already have an account".to_owned();
    let text = format!(
        "Hello {name},\n\nSomeone, perhaps you, tried to create an account with this address ({to}), \
         but it already has one; nothing was changed. Sign in as usual, or if you forgot your \
         password choose a new one: {link}\n\nIf this was not you, ignore this email.\n"
    );
    let html = page(
        look,
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
    (subject, text, html)
}

fn email_change_notice(
    look: &Look<'_>,
    to: &str,
    name: &str,
    new_email: &str,
    link: &str,
    reset: &str,
    expires_at: DateTime<Utc>,
) -> Parts {
    let expires = when(expires_at);
    let subject = "Your sign-in address is being changed".to_owned();
    let text = format!(
        "Hello {name},\n\nSomeone signed in to your account asked to move it from {to} to {new_email}. \
         It moves once the link mailed there is used (until {expires}).\n\n\
         If this was not you, cancel the change: {link}\n\n\
         Then choose a new password, which also ends every session and any change still pending: {reset}\n"
    );
    let html = page(
        look,
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
    (subject, text, html)
}

fn email_in_use(look: &Look<'_>, to: &str, name: &str, link: &str) -> Parts {
    let subject = "Someone tried to use your address".to_owned();
    let text = format!(
        "Hello {name},\n\nSomeone asked to move another account to this address ({to}), but it already \
         has an account, yours; nothing was changed. If you forgot your password, choose a new one: {link}\n"
    );
    let html = page(
        look,
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
    (subject, text, html)
}

fn webhook_endpoint_disabled(look: &Look<'_>, id: &str, url: &str, reason: &str, org: Option<&str>) -> Parts {
    let owner = org.map_or_else(|| "the platform".to_owned(), |name| name.to_owned());
    let why = match reason {
        "gone" => "its receiver answered 410 Gone",
        _ => "every attempt to deliver to it has failed for five days",
    };
    let route = match org {
        Some(_) => format!("PATCH /orgs/{{org}}/webhooks/{id}"),
        None => format!("PATCH /webhooks/{id}"),
    };
    let subject = format!("A webhook endpoint of {owner} was disabled");
    let said = format!("The webhook endpoint {id} ({url}) of {owner} was disabled: {why}.");
    let next = format!(
        "No events are sent to it now. Once the receiver works, enable it again with {route} {{\"enabled\": true}}; \
         the events it missed are in the events feed."
    );
    let text = format!("{said}\n\n{next}\n");
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n<p style=\"font-weight:bold\">{}</p>\n<p>{}</p>\n<p>{}</p>\n</body></html>\n",
        h(&subject),
        h(&look.brand.name),
        h(&said),
        h(&next)
    );
    (subject, text, html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        "2026-12-03T09:00:00Z".parse().unwrap()
    }

    #[test]
    fn invitation_names_everyone_and_escapes_html() {
        let mail = Mail::Invitation {
            org_name: "Acme <script>".into(),
            inviter_name: "Ada & Co".into(),
            inviter_email: Some("ada@example.com".into()),
            roles: vec!["admin".into(), "support".into()],
            expires_at: at(),
            link: "https://app.example.com/invitations/accept?token=abc\"x".into(),
            org_logo_url: None,
        }
        .render("bob@example.com", &Brand::default());
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
    fn the_brand_and_the_organization_show_in_the_mail() {
        let brand =
            Brand::parse(Some("Acme Cloud"), Some("https://cdn.acme.example/logo.png"), Some("#0b6e4f")).unwrap();
        let mail = Mail::Invitation {
            org_name: "Beta".into(),
            inviter_name: "Ada".into(),
            inviter_email: None,
            roles: vec![],
            expires_at: at(),
            link: "https://x/accept?token=t".into(),
            org_logo_url: Some("https://beta.example/logo.png".into()),
        }
        .render("bob@example.com", &brand);
        assert!(mail.html.contains("Acme Cloud") && mail.html.contains("background:#0b6e4f"), "{}", mail.html);
        assert!(
            mail.html.contains("https://cdn.acme.example/logo.png")
                && mail.html.contains("https://beta.example/logo.png")
        );
        assert!(mail.text.ends_with("-- \nAcme Cloud\n"), "{}", mail.text);
        let plain =
            Mail::AccountExists { name: "Ada".into(), link: "l".into() }.render("a@example.com", &Brand::default());
        assert!(plain.html.contains("background:#1d4ed8") && plain.text.ends_with("-- \nIdentity\n"));
    }

    #[test]
    fn account_mails_render() {
        let verify =
            Mail::VerifyEmail { name: "Ada".into(), link: "https://x/verify?token=t".into(), expires_at: at() };
        assert!(verify.render("a@example.com", &Brand::default()).text.contains("https://x/verify?token=t"));
        let reset =
            Mail::ResetPassword { name: "Ada".into(), link: "https://x/reset?token=t".into(), expires_at: at() };
        assert!(reset.render("a@example.com", &Brand::default()).subject.contains("Reset"));
        let exists = Mail::AccountExists { name: "Ada <b>".into(), link: "https://x/forgot-password".into() };
        let mail = exists.render("a@example.com", &Brand::default());
        assert!(mail.text.contains("already has one") && mail.text.contains("https://x/forgot-password"));
        assert!(mail.html.contains("Ada &lt;b&gt;"));
    }

    #[test]
    fn rows_written_before_the_enum_still_read_and_bad_rows_are_refused() {
        // The payloads the services wrote as JSON by hand, as rows still in an outbox have them.
        let verify =
            json!({"name": "Ada", "link": "https://x/verify?token=t", "expires_at": "2026-12-03T09:00:00+00:00"});
        let mail = Mail::from_row("verify_email", &verify).unwrap();
        assert_eq!(
            mail,
            Mail::VerifyEmail { name: "Ada".into(), link: "https://x/verify?token=t".into(), expires_at: at() }
        );
        let invite = json!({"org_name": "Acme", "inviter_name": "Ada", "inviter_email": "ada@example.com",
                            "roles": ["member"], "expires_at": "2026-12-03T09:00:00Z", "link": "l"});
        assert!(matches!(Mail::from_row("invitation", &invite), Ok(Mail::Invitation { .. })));
        let (template, payload) = mail.to_row();
        assert_eq!(template, "verify_email");
        assert_eq!(Mail::from_row(&template, &payload).unwrap(), mail);
        assert!(Mail::from_row("unknown", &verify).is_err());
        assert!(Mail::from_row("verify_email", &json!({"name": "Ada"})).is_err());
        assert!(Mail::from_row("email_change_notice", &json!({"name": "Ada", "link": "l"})).is_err());
    }

    #[test]
    fn email_change_mails_say_where_to_and_escape_it() {
        let confirm = Mail::ConfirmEmailChange {
            name: "Ada".into(),
            link: "https://x/confirm-email-change?token=t".into(),
            expires_at: at(),
        };
        let mail = confirm.render("new@example.com", &Brand::default());
        assert!(
            mail.text.contains("new@example.com")
                && mail.text.contains("token=t")
                && mail.text.contains("2026-12-03 09:00")
        );
        let notice = Mail::EmailChangeNotice {
            name: "Ada".into(),
            new_email: "<new>@example.com".into(),
            link: "https://x/cancel-email-change?token=c".into(),
            reset_link: "https://x/forgot-password".into(),
            expires_at: at(),
        };
        let mail = notice.render("old@example.com", &Brand::default());
        assert!(mail.text.contains("from old@example.com to <new>@example.com"));
        assert!(mail.text.contains("cancel-email-change?token=c") && mail.text.contains("https://x/forgot-password"));
        assert!(mail.html.contains("&lt;new&gt;@example.com") && !mail.html.contains("<new>"));
        let disabled = Mail::WebhookEndpointDisabled {
            endpoint_id: "01a2".into(),
            url: "https://hooks.example.com".into(),
            reason: "gone".into(),
            org_name: Some("Acme <b>".into()),
        }
        .render("owner@example.com", &Brand::default());
        assert!(disabled.subject.contains("Acme <b>") && disabled.text.contains("410 Gone"), "{}", disabled.text);
        assert!(disabled.html.contains("Acme &lt;b&gt;") && !disabled.html.contains("<b>"));
        assert!(disabled.text.contains(r#"PATCH /orgs/{org}/webhooks/01a2 {"enabled": true}"#), "{}", disabled.text);
        let in_use = Mail::EmailInUse { name: "Bob".into(), link: "https://x/forgot-password".into() };
        assert!(in_use.render("bob@example.com", &Brand::default()).text.contains("already has an account"));
    }
}
