//! The OpenID Provider's costs: an application's whole sign-in (authorize, the hosted form, the
//! code exchanged for tokens) beside a plain `POST /auth/login`, and the token endpoint's rate
//! for `authorization_code` (codes minted by a silent authorize, no password) and for
//! `refresh_token`. Each worker is a browser of its own (its cookies) and a different user.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::api::Api;
use crate::stats::{ms, percentile};

const CALLBACK: &str = "https://app.bench.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92_9BN0cZRmNhRC8OGV2hZGX8SgA";
const CHALLENGE: &str = "u2YvlX2IHzLdz5cyAdvOG67sTEwtKNImXXV3tJYk-1Y";

/// The application the flows sign in to: (client_id, secret), registered by `admin_token`'s
/// platform administrator.
pub async fn register(api: &Api, admin_token: &str) -> anyhow::Result<(String, String)> {
    let body = json!({"name": "Bench CRM", "kind": "web", "redirect_uris": [CALLBACK]});
    let app = api.expect("POST", "/oauth2/clients", body, Some(admin_token), 201).await?;
    let text = |k: &str| app[k].as_str().map(str::to_owned).context("the application's id and secret");
    Ok((text("client_id")?, text("client_secret")?))
}

fn authorize_path(client_id: &str, silent: bool) -> String {
    let prompt = if silent { "&prompt=none" } else { "" };
    format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.bench.example%2Fcallback\
         &scope=openid%20profile%20email%20offline_access&state=s&nonce=n&code_challenge={CHALLENGE}\
         &code_challenge_method=S256{prompt}"
    )
}

/// A browser: its cookies, as `name=value` pairs.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn keep(&mut self, headers: &axum::http::HeaderMap) {
        for value in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.0.retain(|(n, _)| n != name);
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

fn location(headers: &axum::http::HeaderMap) -> anyhow::Result<String> {
    Ok(headers.get("location").context("a redirect")?.to_str()?.to_owned())
}

fn hidden(html: &str, name: &str) -> anyhow::Result<String> {
    let at = html.find(&format!("name=\"{name}\" value=\"")).context("a hidden field")? + name.len() + 15;
    Ok(html[at..at + html[at..].find('"').context("a closed attribute")?].to_owned())
}

fn code_in(url: &str) -> anyhow::Result<String> {
    let query = url.split_once('?').context("a query")?.1;
    let code = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
    code.with_context(|| format!("no code in {url}"))
}

/// The application's side: the code for tokens.
async fn exchange(api: &Api, basic: &str, code: &str) -> anyhow::Result<Value> {
    let form =
        format!("grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}", enc(CALLBACK));
    let (status, _, body) = api.raw("POST", "/oauth2/token", &[("authorization", basic)], Some(form)).await?;
    if status != 200 {
        bail!("the code exchange answered {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(serde_json::from_slice(&body)?)
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A whole sign-in through the hosted form: the browser's session cookie and the tokens.
async fn sign_in(
    api: &Api,
    jar: &mut Jar,
    client_id: &str,
    basic: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<Value> {
    let (_, headers, _) = api.raw("GET", &authorize_path(client_id, false), &[], None).await?;
    let form_path = location(&headers)?.replace("../pages/", "/pages/");
    let (_, headers, html) = api.raw("GET", &form_path, &[("cookie", &jar.header())], None).await?;
    jar.keep(&headers);
    let html = String::from_utf8_lossy(&html);
    let form = format!(
        "token={}&csrf={}&email={}&password={}",
        hidden(&html, "token")?,
        hidden(&html, "csrf")?,
        enc(email),
        enc(password)
    );
    let (status, headers, _) = api.raw("POST", "/pages/sign-in", &[("cookie", &jar.header())], Some(form)).await?;
    if status != 303 {
        bail!("the hosted sign-in answered {status}");
    }
    jar.keep(&headers);
    let next = format!("/pages/{}", location(&headers)?);
    let (_, headers, _) = api.raw("GET", &next, &[("cookie", &jar.header())], None).await?;
    exchange(api, basic, &code_in(&location(&headers)?)?).await
}

/// Latency samples of the parts of a loop.
#[derive(Default)]
struct Samples {
    whole: Vec<Duration>,
    part: Vec<Duration>,
}

/// Runs `concurrency` workers for `seconds`, worker `w` as user `first + w`; `step` does one
/// iteration and says how long its measured part took.
async fn closed_loop<F, Fut>(seconds: u64, concurrency: usize, step: F) -> anyhow::Result<(f64, Samples)>
where
    F: Fn(usize, Arc<Mutex<Jar>>, Arc<Mutex<Option<String>>>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Duration>> + Send,
{
    let step = Arc::new(step);
    let samples = Arc::new(Mutex::new(Samples::default()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let failures = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (step, samples, failures) = (step.clone(), samples.clone(), failures.clone());
        let (jar, held) = (Arc::new(Mutex::new(Jar::default())), Arc::new(Mutex::new(None)));
        workers.spawn(async move {
            while Instant::now() < deadline {
                let start = Instant::now();
                match step(w, jar.clone(), held.clone()).await {
                    Ok(part) => {
                        let mut s = samples.lock().await;
                        s.whole.push(start.elapsed());
                        s.part.push(part);
                    }
                    Err(e) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = std::mem::take(&mut *samples.lock().await);
    if samples.whole.is_empty() {
        bail!("no iteration finished");
    }
    Ok((elapsed, samples))
}

fn report(elapsed: f64, samples: &Samples, extra: Value) -> Value {
    let mut row = json!({
        "requests": samples.whole.len(),
        "rps": samples.whole.len() as f64 / elapsed,
        "p50_ms": ms(percentile(&samples.whole, 50.0)),
        "p99_ms": ms(percentile(&samples.whole, 99.0)),
        "part_p50_ms": ms(percentile(&samples.part, 50.0)),
        "part_p99_ms": ms(percentile(&samples.part, 99.0)),
    });
    if let (Some(row), Some(extra)) = (row.as_object_mut(), extra.as_object()) {
        row.extend(extra.clone());
    }
    row
}

/// The rows: whole sign-ins (code flow and plain login, alternating rounds), then the token
/// endpoint's two grants.
pub async fn measure(
    api_url: &str,
    client: (String, String),
    password: &str,
    seconds: u64,
    concurrency: usize,
) -> anyhow::Result<Vec<Value>> {
    let (client_id, secret) = client;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}")));
    let mut rows = vec![];
    let round = seconds / 2 + 1;
    let api_url = api_url.to_owned();
    let password = password.to_owned();
    for n in 1..=2 {
        // Users 1001-2000: the hosted form, a new browser each sign-in.
        let next = Arc::new(AtomicUsize::new(0));
        let (api_url2, client_id2, basic2, password2, next2) =
            (api_url.clone(), client_id.clone(), basic.clone(), password.clone(), next.clone());
        let (elapsed, samples) = closed_loop(round, concurrency, move |_, _, _| {
            let (api, client_id, basic, password) =
                (Api::new(&api_url2), client_id2.clone(), basic2.clone(), password2.clone());
            let k = 1001 + next2.fetch_add(1, Ordering::Relaxed) % 1000;
            async move {
                let start = Instant::now();
                let mut jar = Jar::default();
                sign_in(&api, &mut jar, &client_id, &basic, &format!("user{k}@bench.example"), &password).await?;
                Ok(start.elapsed())
            }
        })
        .await?;
        rows.push(report(
            elapsed,
            &samples,
            json!({"kind": "oidc", "name": "code-flow", "round": n, "concurrency": concurrency}),
        ));
        let (api_url2, password2) = (api_url.clone(), password.clone());
        let next = Arc::new(AtomicUsize::new(0));
        let (elapsed, samples) = closed_loop(round, concurrency, move |_, _, _| {
            let (api, password) = (Api::new(&api_url2), password2.clone());
            let k = 1001 + next.fetch_add(1, Ordering::Relaxed) % 1000;
            async move {
                let start = Instant::now();
                let body = json!({"email": format!("user{k}@bench.example"), "password": password});
                api.expect("POST", "/auth/login", body, None, 200).await?;
                Ok(start.elapsed())
            }
        })
        .await?;
        rows.push(report(
            elapsed,
            &samples,
            json!({"kind": "oidc", "name": "login", "round": n, "concurrency": concurrency}),
        ));
    }
    // Codes minted without a password: each worker's browser signs in once, then authorizes
    // silently; the exchange is the measured part.
    let (api_url2, client_id2, basic2, password2) =
        (api_url.clone(), client_id.clone(), basic.clone(), password.clone());
    let (elapsed, samples) = closed_loop(seconds, concurrency, move |w, jar, held| {
        let (api, client_id, basic, password) =
            (Api::new(&api_url2), client_id2.clone(), basic2.clone(), password2.clone());
        async move {
            let mut jar = jar.lock().await;
            if jar.0.is_empty() {
                let tokens =
                    sign_in(&api, &mut jar, &client_id, &basic, &format!("user{}@bench.example", 2001 + w), &password)
                        .await?;
                *held.lock().await = tokens["refresh_token"].as_str().map(str::to_owned);
            }
            let (_, headers, _) =
                api.raw("GET", &authorize_path(&client_id, true), &[("cookie", &jar.header())], None).await?;
            let code = code_in(&location(&headers)?)?;
            let at = Instant::now();
            exchange(&api, &basic, &code).await?;
            Ok(at.elapsed())
        }
    })
    .await?;
    rows.push(report(
        elapsed,
        &samples,
        json!({"kind": "oidc", "name": "authorization_code", "concurrency": concurrency}),
    ));
    // Refresh tokens, each worker rotating its own.
    let (api_url2, client_id2, basic2, password2) =
        (api_url.clone(), client_id.clone(), basic.clone(), password.clone());
    let (elapsed, samples) = closed_loop(seconds, concurrency, move |w, jar, held| {
        let (api, client_id, basic, password) =
            (Api::new(&api_url2), client_id2.clone(), basic2.clone(), password2.clone());
        async move {
            let mut held = held.lock().await;
            if held.is_none() {
                let mut jar = jar.lock().await;
                let tokens =
                    sign_in(&api, &mut jar, &client_id, &basic, &format!("user{}@bench.example", 2101 + w), &password)
                        .await?;
                *held = tokens["refresh_token"].as_str().map(str::to_owned);
            }
            let token = held.clone().context("a refresh token")?;
            let at = Instant::now();
            let form = format!("grant_type=refresh_token&refresh_token={token}");
            let (status, _, body) = api.raw("POST", "/oauth2/token", &[("authorization", &basic)], Some(form)).await?;
            if status != 200 {
                bail!("the refresh answered {status}: {}", String::from_utf8_lossy(&body));
            }
            let answer: Value = serde_json::from_slice(&body)?;
            *held = answer["refresh_token"].as_str().map(str::to_owned);
            Ok(at.elapsed())
        }
    })
    .await?;
    rows.push(report(elapsed, &samples, json!({"kind": "oidc", "name": "refresh_token", "concurrency": concurrency})));
    Ok(rows)
}
