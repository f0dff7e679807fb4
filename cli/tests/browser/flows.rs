//! Each mailed link's flow, clicked through as its recipient would.

use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::driver::Browser;
use crate::{PASSWORD, Served, link_in_mail, served, unique};

const DESKTOP: (u32, u32) = (900, 1000);
const PHONE: (u32, u32) = (390, 844);

/// A served app where Ada's Acme Corp invited a fresh address (with an account of its own
/// when `with_account`), and the link in the invitee's mail.
struct Invited {
    s: Served,
    kim: String,
    owner: String,
    org: uuid::Uuid,
    link: String,
}

async fn invited(roles: Value, with_account: bool) -> Invited {
    let s = served().await;
    let kim = unique("kim");
    if with_account {
        s.app.user(&kim, PASSWORD).await;
    }
    let (owner, org) = s.app.invited_to_acme(&kim, roles).await;
    let link = link_in_mail(&kim, "invited you to join Acme Corp").await;
    Invited { s, kim, owner, org, link }
}

async fn member_roles(s: &Served, owner: &str, org: uuid::Uuid, email: &str) -> Option<Value> {
    let members = s.app.get(&format!("/orgs/{org}/members"), Some(owner)).await;
    members.json["items"].as_array().unwrap().iter().find(|m| m["email"] == email).map(|m| m["roles"].clone())
}

/// Fails unless every visible field has a label, every button a name, the page a language,
/// and text contrasts with its background at WCAG AA (4.5:1).
pub async fn assert_accessible(browser: &Browser, page: &str) {
    let report = browser
        .run(
            r#"
            const unlabeled = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter(e => e.labels.length === 0).map(e => e.outerHTML);
            const unnamed = [...document.querySelectorAll('button, a')].filter(e => !e.textContent.trim()).map(e => e.outerHTML);
            const rgb = c => c.match(/[\d.]+/g).map(Number);
            const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
            const background = e => {
                for (; e; e = e.parentElement) {
                    const c = rgb(getComputedStyle(e).backgroundColor);
                    if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
                }
                return [255, 255, 255];
            };
            const low = [...document.querySelectorAll('h1, h2, p, label, dt, dd, li, button, a, input, footer, strong, span')]
                .filter(e => e.textContent.trim() || e.value)
                .map(e => {
                    const [a, b] = [lum(rgb(getComputedStyle(e).color).slice(0, 3)), lum(background(e))];
                    return [e.tagName + ' ' + (e.textContent || e.value).trim().slice(0, 30), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
                })
                .filter(([, ratio]) => ratio < 4.5);
            return {unlabeled, unnamed, low, lang: document.documentElement.lang};
            "#,
        )
        .await;
    assert_eq!(report["lang"], "en", "{page}");
    assert_eq!(report["unlabeled"], json!([]), "{page}: inputs without a label");
    assert_eq!(report["unnamed"], json!([]), "{page}: buttons or links without a name");
    assert_eq!(report["low"], json!([]), "{page}: text below 4.5:1 contrast");
}

#[tokio::test]
async fn an_invitee_opens_the_mailed_link_creates_the_account_and_joins_with_the_invited_role() {
    let Invited { s, kim, owner, org, link } = invited(json!(["admin"]), false).await;
    assert!(link.starts_with(&format!("{}/pages/invitations/accept?token=", s.base)), "{link}");

    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&link).await;
    assert_eq!(browser.heading().await, "Join Acme Corp");
    let page = browser.text().await;
    assert!(page.contains(&kim) && page.contains("admin") && page.contains("Expires"), "{page}");
    assert_accessible(&browser, "invitation").await;
    browser.screenshot("invitation-new-account").await;
    browser.fill("#name", "Kim Lee").await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#password_confirm", PASSWORD).await;
    browser.click("form:first-of-type button[type=submit]").await;
    browser.wait_for_heading("You joined Acme Corp").await;
    assert!(browser.text().await.contains("as admin"));
    assert_accessible(&browser, "joined").await;
    browser.screenshot("invitation-joined").await;
    browser.close().await;
    assert_eq!(member_roles(&s, &owner, org, &kim).await, Some(json!(["admin"])));
    assert_eq!(s.app.post("/auth/login", json!({"email": kim, "password": PASSWORD})).await.status, 200);
}

#[tokio::test]
async fn on_a_phone_the_invitation_fits_and_a_mismatched_password_is_explained() {
    let Invited { s: _served, link, .. } = invited(json!(["member"]), false).await;
    let browser = Browser::start(PHONE.0, PHONE.1).await;
    browser.open(&link).await;
    browser.screenshot("invitation-phone").await;
    let overflow = browser.run("return document.documentElement.scrollWidth > window.innerWidth").await;
    assert_eq!(overflow, false, "nothing is wider than the phone's screen");
    browser.fill("#name", "Kim").await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#password_confirm", "a different one").await;
    browser.click("form:first-of-type button[type=submit]").await;
    browser.wait_for_heading("Join Acme Corp").await;
    let page = browser.text().await;
    assert!(page.contains("does not match the password"), "{page}");
    assert_eq!(browser.run("return document.querySelector('#name').value").await, "Kim", "what was typed stays");
    assert_accessible(&browser, "invitation with errors").await;
    browser.screenshot("invitation-phone-error").await;
    browser.close().await;
}

#[tokio::test]
async fn an_existing_account_signs_in_and_joins_from_the_link() {
    let Invited { s, kim, owner, org, link } = invited(json!(["member"]), true).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&link).await;
    assert!(browser.text().await.contains("Sign in and join"));
    assert_accessible(&browser, "sign in and join").await;
    browser.screenshot("invitation-existing-account").await;
    browser.fill("#password", "not the password").await;
    browser.click("form:first-of-type button[type=submit]").await;
    browser.wait_for_heading("Join Acme Corp").await;
    assert!(browser.text().await.contains("is not this account's password"));
    browser.fill("#password", PASSWORD).await;
    browser.click("form:first-of-type button[type=submit]").await;
    browser.wait_for_heading("You joined Acme Corp").await;
    browser.close().await;
    assert_eq!(member_roles(&s, &owner, org, &kim).await, Some(json!(["member"])));
}

#[tokio::test]
async fn an_account_with_an_authenticator_gives_its_code_before_it_joins() {
    let s = served().await;
    let kim = unique("kim");
    let (kim_token, _) = s.app.signed_in(&kim, PASSWORD).await;
    let factor = s.app.enrol_totp(&kim_token, PASSWORD).await;
    let (owner, org) = s.app.invited_to_acme(&kim, json!(["member"])).await;
    let link = link_in_mail(&kim, "invited you to join Acme Corp").await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&link).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form:first-of-type button[type=submit]").await;
    browser.wait_for_heading("Join Acme Corp").await;
    assert!(browser.text().await.contains("Code from your authenticator app"), "{}", browser.text().await);
    assert_accessible(&browser, "the code step").await;
    assert_eq!(member_roles(&s, &owner, org, &kim).await, None, "the password alone joins nobody");
    // A wrong code keeps the step, says why, and joins nobody.
    let right: Vec<String> = (-1..=1).map(|o| factor.code(o)).collect();
    let wrong = (0..).map(|n| format!("{n:06}")).find(|c| !right.contains(c)).unwrap();
    browser.fill("#code", &wrong).await;
    browser.click("form:first-of-type button[type=submit]").await;
    browser.wait_for_heading("Join Acme Corp").await;
    assert!(browser.text().await.contains("is wrong"), "{}", browser.text().await);
    browser.screenshot("invitation-code-step").await;
    assert_eq!(member_roles(&s, &owner, org, &kim).await, None);
    // The code the app shows now (the enrolment spent the previous step's): Enter submits.
    browser.fill("#code", &format!("{}{}", factor.code(0), Key::Enter)).await;
    browser.wait_for_heading("You joined Acme Corp").await;
    browser.close().await;
    assert_eq!(member_roles(&s, &owner, org, &kim).await, Some(json!(["member"])));
}

#[tokio::test]
async fn the_invitee_declines_from_the_link() {
    let Invited { s, kim, owner, org, link } = invited(json!(["member"]), false).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&link).await;
    browser.click("button.secondary").await;
    browser.wait_for_heading("Invitation declined").await;
    browser.screenshot("invitation-declined").await;
    // The link is spent: opening it again says so, with no form.
    browser.open(&link).await;
    assert_eq!(browser.heading().await, "This invitation was declined");
    browser.close().await;
    assert_eq!(member_roles(&s, &owner, org, &kim).await, None);
    let invitations = s.app.get(&format!("/orgs/{org}/invitations?status=declined"), Some(&owner)).await;
    assert_eq!(invitations.json["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_new_account_confirms_its_email_from_the_link() {
    let s = served().await;
    let ada = unique("ada");
    let (access, _) = s.app.unverified_signed_in(&ada, PASSWORD).await;
    let link = link_in_mail(&ada, "Confirm your email address").await;
    assert!(link.starts_with(&format!("{}/pages/verify-email?token=", s.base)), "{link}");
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&link).await;
    assert_eq!(browser.heading().await, "Confirm your email address");
    assert_eq!(s.app.get("/me", Some(&access)).await.json["email_verified"], false, "opening the link spends nothing");
    assert_accessible(&browser, "verify").await;
    browser.screenshot("verify-email").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_heading("Your email address is confirmed").await;
    browser.screenshot("verify-email-done").await;
    browser.close().await;
    // The proof ended the session from before it; the address is proven.
    s.app.get("/me", Some(&access)).await.assert_problem(401);
    let (access, _) = s.app.login(&ada, PASSWORD).await;
    assert_eq!(s.app.get("/me", Some(&access)).await.json["email_verified"], true);
}

#[tokio::test]
async fn an_email_change_names_the_account_and_the_old_address_can_cancel_it() {
    let s = served().await;
    let (ada, moved) = (unique("ada"), unique("ada.moved"));
    let (access, _) = s.app.signed_in(&ada, PASSWORD).await;
    let body = json!({"new_email": moved, "password": PASSWORD});
    let res = s.app.call(axum::http::Method::POST, "/me/email", Some(body), Some(&access)).await;
    assert_eq!(res.status, 202, "{}", res.json);
    // The new address's link names the account it would move, and from where.
    let confirm = link_in_mail(&moved, "Confirm your new email address").await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&confirm).await;
    assert_eq!(browser.heading().await, "Confirm your new email address");
    let text = browser.text().await;
    assert!(text.contains(&ada) && text.contains(&moved), "{text}");
    assert_accessible(&browser, "confirm-email-change").await;
    browser.screenshot("confirm-email-change").await;
    // The old address's notice cancels it.
    let cancel = link_in_mail(&ada, "Your sign-in address is being changed").await;
    assert!(cancel.starts_with(&format!("{}/pages/cancel-email-change?token=", s.base)), "{cancel}");
    browser.open(&cancel).await;
    assert_eq!(browser.heading().await, "Cancel the change of your sign-in address");
    assert_accessible(&browser, "cancel-email-change").await;
    browser.screenshot("cancel-email-change").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_heading("The change is cancelled").await;
    assert!(browser.text().await.contains(&moved));
    browser.screenshot("cancel-email-change-done").await;
    // The confirmation link is dead now, and says so before offering anything.
    browser.open(&confirm).await;
    assert_ne!(browser.heading().await, "Confirm your new email address");
    browser.close().await;
    assert_eq!(s.app.get("/me", Some(&access)).await.json["email"], ada.as_str());
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link() {
    let s = served().await;
    let ada = unique("ada");
    s.app.user(&ada, PASSWORD).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&format!("{}/pages/forgot-password", s.base)).await;
    assert_accessible(&browser, "forgot").await;
    browser.fill("#email", &ada).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_heading("Check your inbox").await;
    let link = link_in_mail(&ada, "Reset your password").await;
    browser.open(&link).await;
    assert_eq!(browser.heading().await, "Choose a new password");
    assert!(browser.text().await.contains("8 to 1024 characters"), "the rules are shown");
    assert_accessible(&browser, "reset").await;
    browser.screenshot("reset-password").await;
    let new = "an entirely new password";
    browser.fill("#password", new).await;
    browser.fill("#password_confirm", new).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_heading("Your password is changed").await;
    browser.screenshot("reset-password-done").await;
    browser.open(&link).await;
    assert_eq!(browser.heading().await, "This link is not valid", "a reset link works once");
    browser.close().await;
    assert_eq!(s.app.post("/auth/login", json!({"email": ada, "password": new})).await.status, 200);
    s.app.post("/auth/login", json!({"email": ada, "password": PASSWORD})).await.assert_problem(401);
}

#[tokio::test]
async fn an_expired_invitation_link_says_so_and_offers_nothing_to_click() {
    let Invited { s, link, .. } = invited(json!(["member"]), false).await;
    s.app.sql("UPDATE invitations SET expires_at = now() - interval '1 minute'").await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&link).await;
    assert_eq!(browser.heading().await, "This invitation has expired");
    let forms = browser.run("return document.forms.length").await;
    assert_eq!(forms, 0);
    assert_accessible(&browser, "expired").await;
    browser.screenshot("invitation-expired").await;
    browser.close().await;
}

#[tokio::test]
async fn the_whole_sign_up_works_from_the_keyboard_alone() {
    let Invited { s, kim, owner, org, link } = invited(json!(["member"]), false).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&link).await;
    // From the top of the page, Tab by Tab: the read-only email first, then the name.
    let tab = Key::Tab.to_string();
    let mut tabs = 0;
    while browser.focused().await != "name" {
        browser.press(&tab).await;
        tabs += 1;
        assert!(tabs < 6, "Tab does not reach the name field");
    }
    browser.press("Kim").await;
    browser.press(&tab).await;
    assert_eq!(browser.focused().await, "password");
    browser.press(PASSWORD).await;
    browser.press(&tab).await;
    assert_eq!(browser.focused().await, "password_confirm");
    browser.press(&format!("{PASSWORD}{}", Key::Enter)).await;
    browser.wait_for_heading("You joined Acme Corp").await;
    browser.close().await;
    assert_eq!(member_roles(&s, &owner, org, &kim).await, Some(json!(["member"])));
}

/// An owner's organization `name` holding `domain`, verified against the tests' DNS server,
/// with `mode` for the people at it.
async fn org_with_domain(s: &Served, name: &str, domain: &str, mode: &str) -> uuid::Uuid {
    use axum::http::Method;
    use identity_testkit::dns;
    let (owner, _) = s.app.signed_in(&unique("owner"), PASSWORD).await;
    let org = s.app.call(Method::POST, "/orgs", Some(json!({"name": name})), Some(&owner)).await;
    let org: uuid::Uuid = org.json["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/orgs/{org}/domains");
    let claim = s.app.call(Method::POST, &path, Some(json!({"domain": domain})), Some(&owner)).await;
    assert_eq!(claim.status, 201, "{}", claim.json);
    let record = &claim.json["verification"];
    dns::publish(record["record_name"].as_str().unwrap(), dns::Answer::txt(record["record_value"].as_str().unwrap()));
    let id = claim.json["id"].as_str().unwrap();
    let verified = s.app.call(Method::POST, format!("{path}/{id}/verify"), None, Some(&owner)).await;
    assert_eq!(verified.json["state"], "verified", "{}", verified.json);
    let body = json!({"enrollment_mode": mode});
    assert_eq!(s.app.call(Method::PATCH, format!("{path}/{id}"), Some(body), Some(&owner)).await.status, 200);
    org
}

#[tokio::test]
async fn confirming_an_email_at_a_verified_domain_names_the_organizations_joined_or_waiting() {
    use identity_testkit::dns;
    let s = served().await;
    let joining = dns::unique_domain("northwind");
    let inviting = dns::unique_domain("contoso");
    let northwind = org_with_domain(&s, "Northwind Traders", &joining, "auto_join").await;
    org_with_domain(&s, "Contoso", &inviting, "invitation").await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    for (email, line, shot) in [
        (format!("ada@{joining}"), "You are now a member of Northwind Traders.", "verify-email-joined-by-domain"),
        (
            format!("ben@{inviting}"),
            "Contoso invites you to join: sign in to accept or decline.",
            "verify-email-invited-by-domain",
        ),
    ] {
        let register = json!({"email": email, "password": PASSWORD, "name": "Ada"});
        assert_eq!(s.app.post("/auth/register", register).await.status, 202);
        let link = link_in_mail(&email, "Confirm your email address").await;
        browser.open(&link).await;
        browser.click("button[type=submit]").await;
        browser.wait_for_heading("Your email address is confirmed").await;
        let text = browser.text().await;
        assert!(text.contains(line), "{email}: {text}");
        assert_accessible(&browser, shot).await;
        browser.screenshot(shot).await;
    }
    browser.close().await;
    let ada = s.app.sql(&format!("SELECT id FROM users WHERE email = 'ada@{joining}'")).await;
    let ada: uuid::Uuid = ada[0].get(0);
    let member =
        s.app.sql(&format!("SELECT 1 FROM memberships WHERE org_id = '{northwind}' AND user_id = '{ada}'")).await;
    assert_eq!(member.len(), 1, "joined, as the page says");
}
