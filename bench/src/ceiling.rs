//! The database's own ceiling for a route: the statements one request sends, taken from
//! PostgreSQL's statement log with their parameters, run by `pgbench` (prepared, the same
//! clients and threads as the HTTP load) so that a route's rate can be read as a share of what
//! PostgreSQL alone does with exactly its statements.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::process::Command;
use tokio_postgres::Client;

use crate::api::Api;
use crate::wire::settled_len;

/// One statement as the server ran it: its text and its parameters' values as text.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The text, with `$n` placeholders.
    pub sql: String,
    /// `$1`, `$2`, ... as PostgreSQL logged them.
    pub params: Vec<String>,
}

/// The statements a GET of `path` runs (the second of two requests, so that none is a
/// first-use parse), with the statement log turned on through `admin` for the while.
pub async fn capture(admin: &Client, log: &Path, api: &Api, path: &str, token: &str) -> anyhow::Result<Vec<Statement>> {
    for setting in ["log_min_duration_statement = 0", "log_line_prefix = '%a: '"] {
        admin.batch_execute(&format!("ALTER SYSTEM SET {setting}")).await?;
    }
    admin.batch_execute("SELECT pg_reload_conf()").await?;
    settled_len(log).await?;
    api.expect("GET", path, Value::Null, Some(token), 200).await?;
    let from = settled_len(log).await?;
    api.expect("GET", path, Value::Null, Some(token), 200).await?;
    let to = settled_len(log).await?;
    // One at a time: ALTER SYSTEM may not run inside the transaction a batch would make.
    for setting in ["log_min_duration_statement", "log_line_prefix"] {
        admin.batch_execute(&format!("ALTER SYSTEM RESET {setting}")).await?;
    }
    admin.batch_execute("SELECT pg_reload_conf()").await?;
    let text = std::fs::read(log)?;
    let statements = executed(&String::from_utf8_lossy(&text[from..to.min(text.len())]));
    if statements.is_empty() {
        bail!("GET {path} ran no statement that the log shows");
    }
    Ok(statements)
}

/// The statements executed in a stretch of the log (`identity-api: LOG:  duration: 0.1 ms
/// execute s3: SELECT ...`, its continuation lines indented by a tab, then `identity-api:
/// DETAIL:  parameters: $1 = '...', ...`).
pub fn executed(log: &str) -> Vec<Statement> {
    let mut out: Vec<Statement> = vec![];
    let mut open = false;
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix('\t').filter(|_| open) {
            let last = out.last_mut().expect("an open statement");
            last.sql.push('\n');
            last.sql.push_str(rest);
            continue;
        }
        open = false;
        if let Some(detail) = line.strip_prefix("identity-api: DETAIL:  parameters: ") {
            if let Some(last) = out.last_mut().filter(|s| s.params.is_empty()) {
                last.params = parameters(detail);
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("identity-api: LOG:  duration: ") else { continue };
        let Some((_, rest)) = rest.split_once(" ms  execute ") else { continue };
        let Some((_, sql)) = rest.split_once(": ") else { continue };
        out.push(Statement { sql: sql.to_owned(), params: vec![] });
        open = true;
    }
    out
}

/// `$1 = 'a', $2 = 'it''s'` as ["a", "it's"] (NULL as an empty value: none of the reads
/// measured here sends one).
fn parameters(detail: &str) -> Vec<String> {
    let mut values = vec![];
    let mut chars = detail.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '=' {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            let mut value = String::new();
            if chars.peek() == Some(&'\'') {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                            value.push('\'');
                        } else {
                            break;
                        }
                    } else {
                        value.push(c);
                    }
                }
            }
            values.push(value);
        }
    }
    values
}

/// The pgbench script of `statements` (its variables `p<k>_<n>`) and the `-D` definitions:
/// several statements go in one pipeline, as the server sends them in one round trip.
pub fn script(statements: &[Statement]) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut defines = vec![];
    let pipelined = statements.len() > 1;
    if pipelined {
        text.push_str("\\startpipeline\n");
    }
    for (k, statement) in statements.iter().enumerate() {
        let mut sql = statement.sql.clone();
        // Highest first, so that $1 does not eat the start of $10.
        for n in (1..=statement.params.len()).rev() {
            sql = sql.replace(&format!("${n}"), &format!(":p{k}_{n}"));
        }
        text.push_str(sql.trim_end().trim_end_matches(';'));
        text.push_str(";\n");
        for (n, value) in statement.params.iter().enumerate() {
            defines.push(format!("p{k}_{}={value}", n + 1));
        }
    }
    if pipelined {
        text.push_str("\\endpipeline\n");
    }
    (text, defines)
}

/// Statements per second (transactions of `statements`, each one request's) that `pgbench`
/// runs with `clients` clients on `threads` threads for `seconds`, against `database_url`.
pub async fn rate(
    database_url: &str,
    out: &Path,
    name: &str,
    statements: &[Statement],
    clients: usize,
    threads: usize,
    seconds: u64,
) -> anyhow::Result<f64> {
    let (text, defines) = script(statements);
    let file = out.join(format!("ceiling-{name}.sql"));
    std::fs::write(&file, text)?;
    // scripts/bench names the cluster's own pgbench.
    let mut command = Command::new(std::env::var("PGBENCH").unwrap_or_else(|_| "pgbench".into()));
    command.args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", &threads.to_string()]);
    command.args(["-T", &seconds.max(1).to_string(), "-f"]).arg(&file);
    for define in &defines {
        command.arg("-D").arg(define);
    }
    let output = command.arg(database_url).stdout(Stdio::piped()).stderr(Stdio::piped()).output().await?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("pgbench for {name} failed: {}{}", report, String::from_utf8_lossy(&output.stderr));
    }
    let tps = report
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .context("pgbench printed no tps")?;
    Ok(tps.parse()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_and_their_parameters_are_read_from_the_log() {
        let log = "identity-api: LOG:  duration: 0.100 ms  execute s3: WITH caller AS (\n\t  SELECT $1\n\t) SELECT $2\n\
                   identity-api: DETAIL:  parameters: $1 = 'a''b', $2 = '{\"org:read\"}'\n\
                   identity-api: LOG:  duration: 0.1 ms  parse s4: SELECT 1\n\
                   identity-api: LOG:  duration: 0.050 ms  execute s4: SELECT 1\n";
        let statements = executed(log);
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].sql, "WITH caller AS (\n  SELECT $1\n) SELECT $2");
        assert_eq!(statements[0].params, ["a'b", "{\"org:read\"}"]);
        assert_eq!(statements[1], Statement { sql: "SELECT 1".into(), params: vec![] });
        let (text, defines) = script(&statements);
        assert!(text.starts_with("\\startpipeline\nWITH caller AS (\n  SELECT :p0_1\n) SELECT :p0_2;\nSELECT 1;\n"));
        assert_eq!(defines, ["p0_1=a'b", "p0_2={\"org:read\"}"]);
    }
}
