//! Which redirect URIs an application may register (RFC 9700 §4.1, RFC 8252 §7): absolute,
//! no fragment, https; plain http only to a loopback host; a native app's private-use scheme
//! (reverse DNS, `com.example.app:/callback`). They are compared exactly at sign-in.

use url::Url;

use crate::models::oauth_client::ClientKind;

/// Most URIs in one list.
const MAX_URIS: usize = 10;
/// Longest URI, in bytes.
const MAX_LEN: usize = 2000;

/// The list checked for an application of `kind`, or why it cannot be registered.
pub fn check(kind: ClientKind, uris: &[String], required: bool) -> Result<Vec<String>, String> {
    if required && uris.is_empty() {
        return Err("needs at least one URI".into());
    }
    if uris.len() > MAX_URIS {
        return Err(format!("holds at most {MAX_URIS} URIs"));
    }
    let mut checked: Vec<String> = vec![];
    for raw in uris {
        let uri = one(kind, raw).map_err(|why| format!("{raw:?} {why}"))?;
        if !checked.contains(&uri) {
            checked.push(uri);
        }
    }
    Ok(checked)
}

fn one(kind: ClientKind, raw: &str) -> Result<String, &'static str> {
    if raw.len() > MAX_LEN || raw.chars().any(char::is_control) || raw.contains(' ') {
        return Err("is too long or holds spaces or control characters");
    }
    let url = Url::parse(raw).map_err(|_| "is not an absolute URI")?;
    if url.fragment().is_some() || raw.contains('#') {
        return Err("has a fragment (RFC 6749 §3.1.2)");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("carries credentials");
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("must be https (plain http only to a loopback host)"),
        scheme if kind == ClientKind::Native && scheme.contains('.') => {}
        _ if kind == ClientKind::Native => {
            return Err("must be https, http to a loopback host, or a reverse-DNS private-use scheme");
        }
        _ => return Err("must be https"),
    }
    // Stored as sent: the comparison at sign-in is exact, character for character.
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(kind: ClientKind, uri: &str) -> bool {
        check(kind, &[uri.to_owned()], true).is_ok()
    }

    #[test]
    fn the_rules_follow_the_kind() {
        assert!(ok(ClientKind::Web, "https://app.example.com/callback"));
        assert!(ok(ClientKind::Web, "http://127.0.0.1:8080/cb"));
        assert!(ok(ClientKind::Spa, "http://localhost:5173/"));
        assert!(!ok(ClientKind::Web, "http://app.example.com/callback"));
        assert!(!ok(ClientKind::Web, "https://app.example.com/cb#frag"));
        assert!(!ok(ClientKind::Web, "https://user:pw@app.example.com/cb"));
        assert!(!ok(ClientKind::Web, "/relative"));
        assert!(!ok(ClientKind::Web, "com.example.app:/callback"));
        assert!(ok(ClientKind::Native, "com.example.app:/callback"));
        assert!(!ok(ClientKind::Native, "myapp:/callback"));
        assert!(!ok(ClientKind::Spa, "javascript:alert(1)"));
        assert!(check(ClientKind::Web, &[], true).is_err());
        assert!(check(ClientKind::Web, &[], false).is_ok());
        let many: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
        assert!(check(ClientKind::Web, &many, true).is_err());
    }
}
