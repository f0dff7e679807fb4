//! Database round trips per request, route by route, for every read and write of an org's life:
//! counted on the wire by a proxy between one `identity serve` and PostgreSQL (statements
//! written before any answer came back count once), beside the statements they carry, from
//! PostgreSQL's statement log.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use identity_testkit::proxy::Proxy;
use serde_json::{Value, json};

use crate::api::Api;
use crate::fake_ses::Mailbox;

/// Counts each step's round trips and statements and keeps their sums per route.
pub struct Counter<'a> {
    proxy: &'a Proxy,
    log: &'a Path,
    /// Route -> (requests, round trips, statements), in the order first seen.
    totals: Vec<(&'static str, [u64; 3])>,
}

impl<'a> Counter<'a> {
    /// Counting through `proxy`, statements from the cluster's `log`.
    pub fn new(proxy: &'a Proxy, log: &'a Path) -> Counter<'a> {
        Counter { proxy, log, totals: vec![] }
    }

    /// Sends one request as `route` and adds what it cost.
    async fn step(&mut self, route: &'static str, api: &Api, request: Request<'_>) -> anyhow::Result<Value> {
        let from = settled_len(self.log).await?;
        let trips = self.proxy.round_trips();
        let Request { method, path, body, bearer, status } = request;
        let answer = api.expect(method, path, body, bearer, status).await?;
        let trips = self.proxy.round_trips() - trips;
        settled_len(self.log).await?;
        let statements = statements_since(self.log, from)?;
        match self.totals.iter_mut().find(|(name, _)| *name == route) {
            Some((_, sums)) => {
                sums[0] += 1;
                sums[1] += trips;
                sums[2] += statements;
            }
            None => self.totals.push((route, [1, trips, statements])),
        }
        Ok(answer)
    }

    /// One JSON row per route.
    pub fn rows(&self) -> Vec<Value> {
        self.totals
            .iter()
            .map(|(route, [requests, trips, statements])| {
                json!({"kind": "wire", "name": route, "requests": requests, "round_trips": trips,
                       "statements": statements})
            })
            .collect()
    }
}

/// One request of a step.
struct Request<'b> {
    method: &'b str,
    path: &'b str,
    body: Value,
    bearer: Option<&'b str>,
    status: u16,
}

fn req<'b>(method: &'b str, path: &'b str, body: Value, bearer: Option<&'b str>, status: u16) -> Request<'b> {
    Request { method, path, body, bearer, status }
}

/// An org's life, `rounds` times over, through the server at `api` whose mail reaches
/// `mailbox`: sign-up and sign-in, every org read, and every write an org's admin makes. `tag`
/// keeps each call's accounts apart.
pub async fn life(
    counter: &mut Counter<'_>,
    api: &Api,
    mailbox: &Mailbox,
    tag: &str,
    rounds: usize,
) -> anyhow::Result<()> {
    let password = "wire password 1";
    let run = format!("{}.{tag}", std::process::id());
    for n in 0..rounds {
        let email = format!("wire.{run}.{n}@bench.example");
        let account = json!({"email": email, "password": password, "name": "Wire"});
        counter.step("POST /auth/register", api, req("POST", "/auth/register", account, None, 202)).await?;
        let login = json!({"email": email, "password": password});
        let pair = counter.step("POST /auth/login", api, req("POST", "/auth/login", login, None, 200)).await?;
        let refresh = json!({"refresh_token": pair["refresh_token"]});
        let pair = counter.step("POST /auth/refresh", api, req("POST", "/auth/refresh", refresh, None, 200)).await?;
        let token = pair["access_token"].as_str().context("an access token")?.to_owned();
        let me = Some(token.as_str());
        counter.step("GET /me", api, req("GET", "/me", Value::Null, me, 200)).await?;
        let org = json!({"name": format!("Wire {run} {n}")});
        let org = counter.step("POST /orgs", api, req("POST", "/orgs", org, me, 201)).await?;
        let org = org["id"].as_str().context("an org id")?.to_owned();
        let base = format!("/orgs/{org}");
        let rename = json!({"name": format!("Wire {run} {n} renamed")});
        counter.step("PATCH /orgs/{org}", api, req("PATCH", &base, rename, me, 200)).await?;
        let role = json!({"name": "auditor", "permissions": ["org:read", "audit:read"]});
        let roles = format!("{base}/roles");
        counter.step("POST /orgs/{org}/roles", api, req("POST", &roles, role, me, 201)).await?;
        let described = json!({"description": "Reads the audit log"});
        let auditor = format!("{roles}/auditor");
        counter.step("PATCH /orgs/{org}/roles/{role}", api, req("PATCH", &auditor, described, me, 200)).await?;

        let invitations = format!("{base}/invitations");
        let first = json!({"email": format!("first.{run}.{n}@bench.example")});
        let sent = counter.step("POST /orgs/{org}/invitations", api, req("POST", &invitations, first, me, 201)).await?;
        let first = format!("{invitations}/{}", sent["id"].as_str().context("an invitation id")?);
        let resend = format!("{first}/resend");
        counter.step("POST .../invitations/{id}/resend", api, req("POST", &resend, json!({}), me, 200)).await?;
        let revoke = format!("{first}/revoke");
        counter.step("POST .../invitations/{id}/revoke", api, req("POST", &revoke, json!({}), me, 200)).await?;
        let invitee = format!("second.{run}.{n}@bench.example");
        let mail = mailbox.expect(&invitee).await;
        let second = json!({"email": invitee});
        counter.step("POST /orgs/{org}/invitations", api, req("POST", &invitations, second, me, 201)).await?;
        let mailed = tokio::time::timeout(Duration::from_secs(10), mail).await.context("no invitation mail")??;
        let accept = json!({"token": mailed, "name": "Invitee", "password": password});
        let joined = counter
            .step("POST /invitations/accept", api, req("POST", "/invitations/accept", accept, None, 201))
            .await?;
        let member = format!("{base}/members/{}", joined["user"]["id"].as_str().context("the new member")?);

        for (route, path) in [
            ("GET /orgs/{org}", base.clone()),
            ("GET /orgs/{org}/members", format!("{base}/members?limit=20")),
            ("GET /orgs/{org}/members/{user}", member.clone()),
            ("GET /orgs/{org}/roles", roles.clone()),
            ("GET /orgs/{org}/invitations", invitations.clone()),
            ("GET /orgs/{org}/invitations/{id}", first.clone()),
            ("GET /orgs/{org}/audit-log", format!("{base}/audit-log")),
        ] {
            counter.step(route, api, req("GET", &path, Value::Null, me, 200)).await?;
        }

        let set = json!({"roles": ["member", "auditor"]});
        let member_roles = format!("{member}/roles");
        counter.step("PUT .../members/{user}/roles", api, req("PUT", &member_roles, set, me, 200)).await?;
        counter.step("DELETE .../members/{user}", api, req("DELETE", &member, Value::Null, me, 204)).await?;
        counter.step("DELETE /orgs/{org}/roles/{role}", api, req("DELETE", &auditor, Value::Null, me, 204)).await?;
        counter.step("DELETE /orgs/{org}", api, req("DELETE", &base, Value::Null, me, 204)).await?;
        counter.step("POST /auth/logout", api, req("POST", "/auth/logout", json!({}), me, 204)).await?;
    }
    Ok(())
}

/// The log's length once PostgreSQL's logger has stopped writing to it.
pub async fn settled_len(log: &Path) -> anyhow::Result<usize> {
    let mut last = std::fs::metadata(log)?.len();
    loop {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let now = std::fs::metadata(log)?.len();
        if now == last {
            return Ok(now as usize);
        }
        last = now;
    }
}

/// Statements the server ran since byte `from` of the log.
fn statements_since(log: &Path, from: usize) -> anyhow::Result<u64> {
    let text = std::fs::read(log)?;
    let text = String::from_utf8_lossy(&text[from.min(text.len())..]);
    Ok(text.lines().filter(|l| is_statement(l)).count() as u64)
}

/// A statement-log line of the server's (`identity-api: LOG:  duration: 0.1 ms  execute s1: ...`)
/// for a parse, an execute or a simple statement (BEGIN, COMMIT).
pub fn is_statement(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("identity-api: LOG:") else { return false };
    let Some(rest) = rest.trim_start().strip_prefix("duration:") else { return false };
    let mut words = rest.split_whitespace();
    let (Some(number), Some("ms"), Some(kind)) = (words.next(), words.next(), words.next()) else { return false };
    number.parse::<f64>().is_ok() && ["parse", "execute", "statement"].iter().any(|k| kind.starts_with(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_the_servers_parses_executes_and_simple_statements() {
        assert!(is_statement("identity-api: LOG:  duration: 0.052 ms  parse s3: SELECT 1"));
        assert!(is_statement("identity-api: LOG:  duration: 0.1 ms  execute s3: SELECT 1"));
        assert!(is_statement("identity-api: LOG:  duration: 0.2 ms  statement: BEGIN"));
        assert!(!is_statement("identity-api: LOG:  duration: 0.2 ms  bind s3: SELECT 1"));
        assert!(!is_statement("psql: LOG:  duration: 0.2 ms  statement: SELECT 1"));
        assert!(!is_statement("identity-api: LOG:  connection authorized"));
    }
}
