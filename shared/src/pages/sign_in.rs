//! The hosted sign-in's HTML (an application's sign-in through the OpenID Provider): email and
//! password, the second factor, the organization picker, sign-up, and signing out.

use maud::{Markup, html};
use uuid::Uuid;

use crate::error::FieldError;
use crate::models::fields::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::pages::views::{Link, errors, hidden};

/// Who is asking: the application's name, shown on every step.
fn asked_by(app: &str) -> Markup {
    html! { p.lead { "to continue to " strong { (app) } } }
}

/// The sign-in steps' heading: the organization when the request names one, the application,
/// and what was refused.
fn sign_in_heading(app: &str, org: Option<&str>, refused: &[FieldError]) -> Markup {
    html! {
        h1 { "Sign in" @if let Some(org) = org { " to " (org) } }
        (asked_by(app))
        (errors(refused))
    }
}

/// The first step: the email alone (an address at a domain whose organization signs in
/// through its own identity provider goes there next; everyone else gets the password step).
/// Links to "forgot password" and, where the application allows it, sign-up.
pub fn sign_in(
    app: &str,
    org: Option<&str>,
    link: Link<'_>,
    email: &str,
    sign_up: bool,
    refused: &[FieldError],
) -> Markup {
    html! {
        (sign_in_heading(app, org, refused))
        form method="post" action="sign-in" {
            (hidden(link))
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) required maxlength="254" autocomplete="username" autofocus;
            button type="submit" { "Continue" }
        }
        p { a href="forgot-password" { "Forgot your password?" } }
        @if sign_up {
            p { "New here? " a href={ "sign-up?request=" (link.token) } { "Create an account" } }
        }
    }
}

/// The password step, for an address no identity provider signs in.
pub fn password(app: &str, org: Option<&str>, link: Link<'_>, email: &str, refused: &[FieldError]) -> Markup {
    html! {
        (sign_in_heading(app, org, refused))
        form method="post" action="sign-in" {
            (hidden(link))
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) required maxlength="254" autocomplete="username" readonly;
            label for="password" { "Password" }
            input #password type="password" name="password" required maxlength=(PASSWORD_MAX_CHARS)
                autocomplete="current-password" autofocus;
            button type="submit" { "Sign in" }
        }
        p { a href={ "sign-in?request=" (link.token) } { "Use another email" } }
        p { a href="forgot-password" { "Forgot your password?" } }
    }
}

/// What an admin's test of an SSO connection found: the provider's claims, and what a sign-in
/// would do with them. Nothing was changed.
pub fn sso_tested(report: &crate::models::TestReport) -> Markup {
    let shown = |v: Option<&str>| v.map(str::to_owned).unwrap_or_else(|| "(not sent)".into());
    html! {
        h1 { "Connection test: " (report.connection) }
        @if report.would_sign_in {
            div.notice.good role="status" { p { "The provider signed you in and its answer verified. " (report.outcome) } }
        } @else {
            div.notice.bad role="alert" { p { "The provider signed you in and its answer verified, but a sign-in would stop here: " (report.outcome) } }
        }
        dl {
            dt { "Subject (sub)" } dd { code { (report.subject) } }
            dt { "Email" } dd { (shown(report.email.as_deref())) }
            dt { "email_verified" } dd { (shown(report.email_verified.map(|v| if v { "true" } else { "false" }))) }
            dt { "Name" } dd { (shown(report.name.as_deref())) }
            dt { "amr" } dd { (report.amr.as_ref().map(|a| a.join(" ")).unwrap_or_else(|| "(not sent)".into())) }
        }
        p { "Nothing was changed: no account, link, membership or session was made. You can close this page." }
    }
}

/// The second step for an account with an authenticator.
pub fn code(app: &str, link: Link<'_>, mfa_token: &str, refused: &[FieldError]) -> Markup {
    html! {
        h1 { "Enter your code" }
        (asked_by(app))
        p { "One more step: this account also signs in with an authenticator app." }
        (errors(refused))
        form method="post" action="sign-in-code" {
            (hidden(link))
            input type="hidden" name="mfa_token" value=(mfa_token);
            label for="code" {
                "Code from your authenticator app"
                span.hint id="code-hint" { "Six digits, or one of your recovery codes (xxxxx-xxxxx)." }
            }
            input #code type="text" name="code" required maxlength="32" autocomplete="one-time-code"
                inputmode="text" autocapitalize="none" spellcheck="false" aria-describedby="code-hint" autofocus;
            button type="submit" { "Verify" }
        }
    }
}

/// The organization picker: one button per organization the user belongs to.
pub fn pick(app: &str, link: Link<'_>, orgs: &[(Uuid, String)]) -> Markup {
    html! {
        h1 { "Choose an organization" }
        (asked_by(app))
        form method="post" action="choose-organization" {
            (hidden(link))
            fieldset {
                legend { "Your organizations" }
                @for (i, (id, name)) in orgs.iter().enumerate() {
                    div.choice {
                        input type="radio" name="organization" id={ "org-" (i) } value=(id) required checked[i == 0];
                        label for={ "org-" (i) } { (name) }
                    }
                }
            }
            button type="submit" { "Continue" }
        }
    }
}

/// Sign-up where the application allows it.
pub fn sign_up(app: &str, link: Link<'_>, email: &str, name: &str, refused: &[FieldError]) -> Markup {
    html! {
        h1 { "Create your account" }
        (asked_by(app))
        (errors(refused))
        form method="post" action="sign-up" {
            (hidden(link))
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) required maxlength="254" autocomplete="email";
            label for="name" { "Your name" }
            input #name type="text" name="name" value=(name) required maxlength="200" autocomplete="name";
            label for="password" {
                "Password"
                span.hint id="password-rules" {
                    (PASSWORD_MIN_CHARS) " to " (PASSWORD_MAX_CHARS) " characters; spaces count, nothing is trimmed."
                }
            }
            input #password type="password" name="password" required minlength=(PASSWORD_MIN_CHARS)
                maxlength=(PASSWORD_MAX_CHARS) autocomplete="new-password" aria-describedby="password-rules";
            button type="submit" { "Create account" }
        }
        p { "Have an account? " a href={ "sign-in?request=" (link.token) } { "Sign in" } }
    }
}

/// After sign-up: the same words whether or not the address had an account.
pub fn signed_up(link: Link<'_>) -> Markup {
    html! {
        h1 { "Check your inbox" }
        div.notice.good role="status" {
            p { "A message is on its way to this address. A new account can sign in now and confirms its email with the link in that message." }
        }
        a.button href={ "sign-in?request=" (link.token) } { "Sign in" }
    }
}

/// Asks before signing out when no application vouched for the request.
pub fn sign_out(link: Link<'_>, params: &[(&str, Option<&str>)]) -> Markup {
    html! {
        h1 { "Sign out?" }
        p.lead { "You will be signed out here and in the applications you signed in to through this page." }
        form method="post" action="sign-out" {
            (hidden(link))
            @for (name, value) in params {
                @if let Some(value) = value { input type="hidden" name=(name) value=(value); }
            }
            button type="submit" { "Sign out" }
        }
    }
}

/// Signed out, with no application to go back to.
pub fn signed_out() -> Markup {
    html! {
        h1 { "You are signed out" }
        div.notice.good role="status" { p { "You can close this page." } }
    }
}
