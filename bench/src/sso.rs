//! What a single sign-on callback costs beyond the provider's own answer: an organization
//! connected to oidc-provider-mock (on loopback, from `.local/verifiers`), people signing in
//! through the hosted sign-in again and again (returning: linked identities), each callback
//! timed; beside it, the provider's token endpoint timed alone on codes of its own. The
//! callback's own work is the difference: taking the state, verifying the ID token (keys kept),
//! resolving the identity and opening the browser session.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::api::Api;
use crate::stats::{ms, percentile};

const CALLBACK: &str = "https://app.bench.example/callback";
const CHALLENGE: &str = "u2YvlX2IHzLdz5cyAdvOG67sTEwtKNImXXV3tJYk-1Y";

/// oidc-provider-mock on a free loopback port; stopped when dropped.
pub struct Provider {
    /// Its issuer.
    pub issuer: String,
    child: Child,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the provider (`JWT_VERIFIERS`, which scripts/bench installs, holds it).
pub async fn provider() -> anyhow::Result<Provider> {
    let dir = std::env::var("JWT_VERIFIERS").context("JWT_VERIFIERS (scripts/lib/verifiers.sh) for the SSO step")?;
    let port = crate::server::free_port()?;
    let child = Command::new(format!("{dir}/venv/bin/python"))
        .args(["-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting oidc-provider-mock")?;
    let provider = Provider { issuer: format!("http://127.0.0.1:{port}"), child };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            bail!("oidc-provider-mock did not listen");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(provider)
}

/// Connects `org` (whose owner holds `token`) to the provider, its domain written verified
/// (no DNS here), and an application to sign in to; its client_id.
pub async fn connect(
    api: &Api,
    db: &tokio_postgres::Client,
    token: &str,
    org: &str,
    issuer: &str,
) -> anyhow::Result<String> {
    db.execute(
        "INSERT INTO org_domains (id, org_id, domain, state, verification_token, verified_at)
         VALUES (gen_random_uuid(), $1::text::uuid, 'sso.bench.example', 'verified', 'bench', now())",
        &[&org],
    )
    .await?;
    let body = json!({"issuer": issuer, "client_id": "identity-bench", "client_secret": "bench-secret"});
    let c = api.expect("POST", &format!("/orgs/{org}/sso/connections"), body, Some(token), 201).await?;
    let id = c["id"].as_str().context("a connection id")?;
    let active = json!({"status": "active"});
    api.expect("PATCH", &format!("/orgs/{org}/sso/connections/{id}"), active, Some(token), 200).await?;
    let app = json!({"name": "Bench SSO", "kind": "web", "redirect_uris": [CALLBACK]});
    let app = api.expect("POST", "/oauth2/clients", app, Some(token), 201).await?;
    Ok(app["client_id"].as_str().context("an application")?.to_owned())
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn hidden(html: &str, name: &str) -> anyhow::Result<String> {
    let at = html.find(&format!("name=\"{name}\" value=\"")).context("a hidden field")? + name.len() + 15;
    Ok(html[at..at + html[at..].find('"').context("a closed attribute")?].to_owned())
}

fn cookies(headers: &axum::http::HeaderMap, jar: &mut Vec<String>) {
    for value in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
        jar.push(value.split(';').next().unwrap_or_default().to_owned());
    }
}

/// One sign-in as `sub` up to the provider's redirect back; the callback's path and the
/// browser's cookies (what the timed callback sends).
async fn to_callback(api: &Api, idp: &Api, client_id: &str, sub: &str) -> anyhow::Result<(String, String)> {
    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.bench.example%2Fcallback\
         &scope=openid&state=s&nonce=n&code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let mut jar = vec![];
    let (_, headers, _) = api.raw("GET", &authorize, &[], None).await?;
    let form = headers.get("location").context("to the sign-in")?.to_str()?.replace("../pages/", "/pages/");
    let (_, headers, html) = api.raw("GET", &form, &[], None).await?;
    cookies(&headers, &mut jar);
    let html = String::from_utf8_lossy(&html);
    let body = format!("token={}&csrf={}&email={}", hidden(&html, "token")?, hidden(&html, "csrf")?, enc(sub));
    let (status, headers, _) = api.raw("POST", "/pages/sign-in", &[("cookie", &jar.join("; "))], Some(body)).await?;
    if status != 200 {
        bail!("the email step answered {status}");
    }
    cookies(&headers, &mut jar);
    let refresh = headers.get("refresh").context("on to the provider")?.to_str()?;
    let at_provider = refresh.split_once("url=").context("a URL")?.1;
    let path = at_provider.split_once("127.0.0.1").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]));
    let (status, headers, _) =
        idp.raw("POST", path.context("the provider's path")?, &[], Some(format!("sub={}", enc(sub)))).await?;
    if status != 302 {
        bail!("the provider answered {status}");
    }
    let back = headers.get("location").context("back from the provider")?.to_str()?;
    let callback = back.find("/pages/sso-callback").map(|i| back[i..].to_owned()).context("our callback")?;
    Ok((callback, jar.join("; ")))
}

/// The rows: the callback's latency (returning people), and the provider's token endpoint alone.
pub async fn measure(api_url: &str, idp: &Provider, client_id: &str, samples: usize) -> anyhow::Result<Vec<Value>> {
    let (api, provider) = (Api::new(api_url), Api::new(&idp.issuer));
    // The mock's claims for a subject it does not know: its `sub` as the email too.
    let subs: Vec<String> = (0..20).map(|k| format!("person-{k}@sso.bench.example")).collect();
    // Each person's first sign-in links (and makes) the account; the rest return.
    for sub in &subs {
        let (callback, jar) = to_callback(&api, &provider, client_id, sub).await?;
        let (status, _, _) = api.raw("GET", &callback, &[("cookie", &jar)], None).await?;
        if status != 303 {
            bail!("a first SSO sign-in answered {status}");
        }
    }
    let (mut ours, mut theirs) = (vec![], vec![]);
    for n in 0..samples {
        let sub = &subs[n % subs.len()];
        let (callback, jar) = to_callback(&api, &provider, client_id, sub).await?;
        let at = Instant::now();
        let (status, _, _) = api.raw("GET", &callback, &[("cookie", &jar)], None).await?;
        ours.push(at.elapsed());
        if status != 303 {
            bail!("an SSO callback answered {status}");
        }
        // The provider alone: a code of its own, exchanged as the callback exchanges one.
        let authorize = format!(
            "/oauth2/authorize?response_type=code&client_id=identity-bench&redirect_uri={}&scope=openid&nonce=n",
            enc(CALLBACK)
        );
        let (_, headers, _) = provider.raw("POST", &authorize, &[], Some(format!("sub={}", enc(sub)))).await?;
        let location = headers.get("location").context("a code")?.to_str()?.to_owned();
        let code = location.split("code=").nth(1).and_then(|c| c.split('&').next()).context("a code")?.to_owned();
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&client_id=identity-bench&client_secret=bench-secret",
            enc(CALLBACK)
        );
        let at = Instant::now();
        let (status, _, _) = provider.raw("POST", "/oauth2/token", &[], Some(form)).await?;
        theirs.push(at.elapsed());
        if status != 200 {
            bail!("the provider's token endpoint answered {status}");
        }
    }
    let row = |name: &str, s: &[Duration]| {
        json!({"kind": "sso", "name": name, "samples": s.len(),
               "p50_ms": ms(percentile(s, 50.0)), "p99_ms": ms(percentile(s, 99.0))})
    };
    Ok(vec![row("callback", &ours), row("provider-token", &theirs)])
}
