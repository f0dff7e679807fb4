//! Business rules and transactions.

pub mod access;
pub mod account;
pub mod account_deletion;
pub mod api_keys;
pub mod audit;
#[cfg(feature = "dns")]
pub mod domain_checks;
pub mod domain_enrollment;
pub mod domains;
pub mod email_change;
pub mod events;
pub mod factors;
pub mod health;
pub mod invitations;
pub mod ip_limits;
pub mod joining;
pub mod key_rotation;
pub mod lockouts;
pub mod members;
pub mod oauth;
pub mod oauth_clients;
pub mod orgs;
pub mod outbox;
pub mod ownership;
pub mod provider;
pub mod quotas;
pub mod roles;
pub mod second_factor;
pub mod session_admin;
pub mod sessions;
pub mod sign_in;
pub mod sso;
pub mod users;
#[cfg(feature = "sender")]
pub mod webhook_delivery;
pub mod webhooks;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// Each service module's name and source, this file aside; a module that is a folder is
    /// the text of all its files.
    fn sources() -> BTreeMap<String, String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/services");
        let read = |path: &std::path::Path| -> String {
            if path.is_dir() {
                let mut parts: Vec<_> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
                parts.sort();
                parts.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect::<Vec<_>>().join("\n")
            } else {
                std::fs::read_to_string(path).unwrap()
            }
        };
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .map(|path| (path.file_stem().unwrap().to_str().unwrap().to_owned(), path))
            .filter(|(name, _)| name != "mod")
            .map(|(name, path)| (name, read(&path)))
            .collect()
    }

    /// Each service module and the service modules it names, in `use` lines or written-out paths.
    fn imports() -> BTreeMap<String, Vec<String>> {
        let mut graph = BTreeMap::new();
        for (name, text) in sources() {
            let mut uses = vec![];
            for statement in text.split("use crate::services::").skip(1) {
                let statement = statement.split(';').next().unwrap();
                // Keep the top-level names: drop what nested braces hold (`ip_limits::{self, Guarded}`).
                let (mut depth, mut top) = (0, String::new());
                for c in statement.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ if depth <= 1 => top.push(c),
                        _ => {}
                    }
                }
                uses.extend(top.split(',').map(|n| n.trim().split(':').next().unwrap().trim().to_owned()));
            }
            // Paths written out in code, not imported: `crate::services::roles::grantable(...)`.
            for path in text.split("crate::services::").skip(1) {
                uses.push(path.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect());
            }
            uses.retain(|u| !u.is_empty() && *u != name);
            graph.insert(name, uses);
        }
        graph
    }

    #[test]
    fn the_service_modules_import_one_way() {
        let graph = imports();
        assert!(graph["account"].contains(&"access".to_owned()), "the reader sees imports: {graph:?}");
        // Depth-first search for a cycle: a module met again while still on the path.
        fn visit<'a>(node: &'a str, graph: &'a BTreeMap<String, Vec<String>>, path: &mut Vec<&'a str>) {
            if let Some(start) = path.iter().position(|n| *n == node) {
                panic!("the services import in a circle: {}", [&path[start..], &[node]].concat().join(" -> "));
            }
            path.push(node);
            for next in graph.get(node).into_iter().flatten() {
                visit(next, graph, path);
            }
            path.pop();
        }
        for node in graph.keys() {
            visit(node, &graph, &mut vec![]);
        }
    }

    /// Only sign_in writes a session row: its `open_session` takes a `SignInProof`, which
    /// only sign_in makes, from a right password without a second factor, a redeemed code,
    /// or a new account. The compiler holds the services to that; this holds the statement.
    #[test]
    fn only_sign_in_writes_a_session_row() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut writers = vec![];
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for path in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("repositories/sessions.rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Spelt in pieces so that this file does not match itself.
                    let (aliased, plain) = (concat!("session_rows::", "open("), concat!("sessions::", "open("));
                    if text.contains(aliased) || text.contains(plain) {
                        writers.push(path.strip_prefix(&root).unwrap().display().to_string());
                    }
                }
            }
        }
        assert_eq!(writers, ["services/sign_in.rs"]);
        let sign_in = &sources()["sign_in"];
        assert_eq!(sign_in.matches(concat!("session_rows::", "open(")).count(), 1, "one place writes the row");
        assert!(sign_in.contains("proof: &SignInProof"), "open_session takes the proof");
    }
}
