//! The pages' HTML, as compile-time maud templates: the layout, each flow's page, the done and
//! error pages. Every input has a label; nothing needs script.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::brand::Brand;
use crate::error::FieldError;
use crate::models::fields::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::models::{InvitationPreview, InvitationStatus, PendingEmailChange};

/// The password rules, as the form states them.
fn password_rules() -> String {
    format!("{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters; spaces count, nothing is trimmed.")
}

/// The frame of every page, in the product's brand; an organization's logo above the body
/// when the page is the organization's. `root` leads back to `/pages/` (relative, for stage
/// prefixes).
pub fn layout(brand: &Brand, title: &str, root: &str, org: Option<(&str, &str)>, body: Markup) -> Markup {
    let initial = brand.name.chars().next().map(String::from).unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title { (title) " · " (brand.name) }
                link rel="stylesheet" href={ (root) "style.css" };
                @if brand.accent.is_some() { link rel="stylesheet" href={ (root) "brand.css" }; }
            }
            body {
                header.brand {
                    @match &brand.logo_url {
                        Some(logo) => img.logo src=(logo) alt="";,
                        None => span aria-hidden="true" { (initial) },
                    }
                    (brand.name)
                }
                main {
                    @if let Some((name, logo)) = org { img.org-logo src=(logo) alt={ (name) " logo" }; }
                    (body)
                }
                footer { "Links from our emails work once and expire. If you did not expect one, ignore it." }
            }
        }
    }
}

/// The fields every form of a link carries: the link's token and the CSRF field bound to it.
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    /// The mailed token.
    pub token: &'a str,
    /// The CSRF field for it.
    pub csrf: &'a str,
}

pub(crate) fn hidden(link: Link<'_>) -> Markup {
    html! {
        input type="hidden" name="token" value=(link.token);
        input type="hidden" name="csrf" value=(link.csrf);
    }
}

/// The field errors of a refused form, announced to screen readers.
pub(crate) fn errors(list: &[FieldError]) -> Markup {
    html! {
        @if !list.is_empty() {
            div.notice.bad role="alert" {
                p.error { "Please fix this and try again:" }
                ul { @for e in list { li { (label_of(&e.field)) " " (e.message) } } }
            }
        }
    }
}

fn label_of(field: &str) -> &str {
    match field {
        "name" => "Your name",
        "password" | "new_password" => "The password",
        "password_confirm" => "The repeated password",
        "email" => "The email",
        "code" => "The code",
        _ => "A field",
    }
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y, %H:%M UTC").to_string()
}

fn new_password_fields() -> Markup {
    html! {
        label for="password" { "New password" span.hint id="password-rules" { (password_rules()) } }
        input #password type="password" name="password" required minlength=(PASSWORD_MIN_CHARS)
            maxlength=(PASSWORD_MAX_CHARS) autocomplete="new-password" aria-describedby="password-rules";
        label for="password_confirm" { "Repeat the new password" }
        input #password_confirm type="password" name="password_confirm" required minlength=(PASSWORD_MIN_CHARS)
            maxlength=(PASSWORD_MAX_CHARS) autocomplete="new-password";
    }
}

/// What the invitee sees: who invites them to what, and the ways to answer.
pub fn invitation(p: &InvitationPreview, link: Link<'_>, name: &str, refused: &[FieldError]) -> Markup {
    let inviter = p.inviter_name.as_deref().unwrap_or("A member");
    html! {
        h1 { "Join " (p.org_name) }
        p.lead { (inviter) " invited " strong { (p.email) } " to join " strong { (p.org_name) } "." }
        dl {
            dt { "Organization" } dd { (p.org_name) }
            dt { "Invited by" } dd { (inviter) }
            dt { @if p.roles.len() == 1 { "Role" } @else { "Roles" } } dd { (p.roles.join(", ")) }
            dt { "Expires" } dd { time datetime=(p.expires_at.to_rfc3339()) { (when(p.expires_at)) } }
        }
        (errors(refused))
        @if p.account_exists {
            h2 { "Sign in and join" }
            p { "This address already has an account: its password joins you." }
            form method="post" action="accept" {
                (hidden(link))
                input type="hidden" name="action" value="join";
                label for="email" { "Email" }
                input #email type="email" value=(p.email) readonly autocomplete="username";
                label for="password" { "Password" }
                input #password type="password" name="password" required maxlength=(PASSWORD_MAX_CHARS)
                    autocomplete="current-password";
                button type="submit" { "Sign in and join" }
            }
            p { a href="../forgot-password" { "Forgot your password?" } }
        } @else {
            h2 { "Create account and join" }
            form method="post" action="accept" {
                (hidden(link))
                input type="hidden" name="action" value="join";
                label for="email" { "Email" }
                input #email type="email" value=(p.email) readonly autocomplete="username";
                label for="name" { "Your name" }
                input #name type="text" name="name" value=(name) required maxlength="200" autocomplete="name";
                (new_password_fields())
                button type="submit" { "Create account and join" }
            }
        }
        div.divider { "or" }
        form method="post" action="accept" {
            (hidden(link))
            input type="hidden" name="action" value="decline";
            button.secondary type="submit" { "Decline the invitation" }
        }
    }
}

/// "Sign in and join"'s second step for an account with an authenticator: its code, or a
/// recovery code, with the `mfa_token` the password step gave.
pub fn invitation_code(p: &InvitationPreview, link: Link<'_>, mfa_token: &str, refused: &[FieldError]) -> Markup {
    html! {
        h1 { "Join " (p.org_name) }
        p.lead { "Your password was right. " strong { (p.email) } " also signs in with an authenticator app." }
        (errors(refused))
        form method="post" action="accept" {
            (hidden(link))
            input type="hidden" name="action" value="code";
            input type="hidden" name="mfa_token" value=(mfa_token);
            label for="code" {
                "Code from your authenticator app"
                span.hint id="code-hint" {
                    "Six digits, or one of your recovery codes (xxxxx-xxxxx). If this page sat open for "
                    "more than a few minutes, open the link again."
                }
            }
            input #code type="text" name="code" required maxlength="32" autocomplete="one-time-code"
                inputmode="text" autocapitalize="none" spellcheck="false" aria-describedby="code-hint" autofocus;
            button type="submit" { "Verify and join" }
        }
    }
}

/// An invitation that can no longer be answered, and why.
pub fn invitation_closed(p: &InvitationPreview) -> (&'static str, Markup) {
    let inviter = p.inviter_name.as_deref().unwrap_or("the member who invited you");
    let (title, text) = match p.status {
        InvitationStatus::Accepted => {
            ("This invitation was already accepted", "It has been used to join; sign in to continue.")
        }
        InvitationStatus::Declined => ("This invitation was declined", "It can no longer be accepted."),
        InvitationStatus::Revoked => ("This invitation was withdrawn", "It can no longer be accepted."),
        _ => ("This invitation has expired", "It can no longer be accepted."),
    };
    let body = html! {
        h1 { (title) }
        p.notice.bad { "The invitation to " strong { (p.org_name) } " for " (p.email) ". " (text) }
        p { "Ask " (inviter) " to send a new one if you still want to join." }
    };
    (title, body)
}

/// Asks to confirm the address before the link is spent (a mail scanner's GET spends nothing).
pub fn verify_email(link: Link<'_>) -> Markup {
    html! {
        h1 { "Confirm your email address" }
        p.lead { "One click confirms that this address is yours." }
        form method="post" action="verify-email" {
            (hidden(link))
            button type="submit" { "Confirm my email address" }
        }
    }
}

/// Asks to confirm moving the account to the address the link was mailed to, naming whose
/// account it is and where it signs in now.
pub fn confirm_email_change(link: Link<'_>, change: &PendingEmailChange) -> Markup {
    html! {
        h1 { "Confirm your new email address" }
        p.lead {
            "The account of " strong { (change.name) } ", which signs in as " strong { (change.email) }
            ", will sign in as " strong { (change.new_email) } " from now on."
        }
        p { "If this is not your account, do not confirm: close this page and nothing changes." }
        p { "Your other signed-in devices will be signed out." }
        form method="post" action="confirm-email-change" {
            (hidden(link))
            button type="submit" { "Move the account to this address" }
        }
    }
}

/// Asks to cancel a pending change of the sign-in address (the link in the notice to the
/// current address).
pub fn cancel_email_change(link: Link<'_>) -> Markup {
    html! {
        h1 { "Cancel the change of your sign-in address" }
        p.lead { "Your account keeps signing in with this address; the link mailed to the other one stops working." }
        form method="post" action="cancel-email-change" {
            (hidden(link))
            button type="submit" { "Cancel the change" }
        }
    }
}

/// A cancelled email change, and the next step if someone else asked for it.
pub fn email_change_cancelled(new_email: &str, forgot_password: &str) -> Markup {
    html! {
        h1 { "The change is cancelled" }
        div.notice.good role="status" {
            p { "Your account will not move to " strong { (new_email) } "; the link mailed there no longer works." }
        }
        p { "If you did not ask for the change, someone knows your password. Choose a new one now: that signs out every device." }
        a.button href=(forgot_password) { "Choose a new password" }
    }
}

/// The new password, twice, with the rules.
pub fn reset_password(link: Link<'_>, refused: &[FieldError]) -> Markup {
    html! {
        h1 { "Choose a new password" }
        p.lead { "Every device signed in to your account will be signed out." }
        (errors(refused))
        form method="post" action="reset-password" {
            (hidden(link))
            (new_password_fields())
            button type="submit" { "Set the new password" }
        }
    }
}

/// Asks for the address to mail a reset link to.
pub fn forgot_password(link: Link<'_>, email: &str, refused: &[FieldError]) -> Markup {
    html! {
        h1 { "Forgot your password?" }
        p.lead { "We will email a link to choose a new one." }
        (errors(refused))
        form method="post" action="forgot-password" {
            (hidden(link))
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) required maxlength="254" autocomplete="email";
            button type="submit" { "Email me a link" }
        }
    }
}

/// What happened, and where to go next.
pub fn done(title: &str, lines: &[String], next: Option<&str>) -> Markup {
    html! {
        h1 { (title) }
        div.notice.good role="status" { @for line in lines { p { (line) } } }
        @match next {
            Some(url) => a.button href=(url) { "Continue" },
            None => p { "You can close this page." },
        }
    }
}

/// What to do after an error on a page a mailed link opened.
pub const AFTER_A_LINK: &str = "Open the link from your email again, or ask for a new one.";
/// What to do after an error in an application's sign-in.
pub const AFTER_A_SIGN_IN: &str = "Go back to the application you came from and sign in again.";

/// A page for an error: what went wrong and what to do now (`next`).
pub fn problem(title: &str, detail: &str, next: &str) -> Markup {
    html! {
        h1 { (title) }
        p.notice.bad role="alert" { (detail) }
        p { (next) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let page = problem("<b>", "<script>alert(1)</script>", AFTER_A_LINK).into_string();
        assert!(!page.contains("<script>") && page.contains("&lt;script&gt;"), "{page}");
    }
}
