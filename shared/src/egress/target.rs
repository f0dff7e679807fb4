//! Which URLs an outbound request may go to (a webhook receiver, an identity provider):
//! `https` and a DNS name, never an address written out, `localhost`, an internal name or user
//! info. A local deployment may also admit `http` and loopback hosts. Where the name points is
//! checked at every request (see `resolver`).

/// A URL an outbound request may go to, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL as it is stored and requested.
    pub url: url::Url,
    /// Its host, a DNS name (or, for a local deployment, a loopback host).
    pub host: String,
    /// Its port.
    pub port: u16,
}

/// Longest URL stored.
pub const URL_MAX: usize = 2048;

/// The checked target, or why it is refused (the 422's text).
pub fn parse(raw: &str, allow_local: bool) -> Result<Target, String> {
    if raw.len() > URL_MAX {
        return Err(format!("must be at most {URL_MAX} characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute https URL".to_owned())?;
    let local_host = matches!(url.host(), Some(url::Host::Domain("localhost")))
        || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if allow_local && local_host => {}
        _ => return Err("must be an https URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    let host = match url.host() {
        Some(url::Host::Domain(name)) => name.to_owned(),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) if allow_local && local_host => {
            url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned()
        }
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => return Err("must name a host, not an IP address".into()),
        None => return Err("must name a host".into()),
    };
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    let internal = name == "localhost"
        || [".localhost", ".internal", ".local", ".localdomain", ".home.arpa", ".arpa"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        || !name.contains('.');
    if internal && !(allow_local && local_host) {
        return Err("must name a public host (not localhost, an internal or a single-label name)".into());
    }
    let port = url.port_or_known_default().ok_or("must have a port")?;
    Ok(Target { url, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_names_pass() {
        let target = parse("https://hooks.example.com/in?x=1", false).unwrap();
        assert_eq!((target.host.as_str(), target.port), ("hooks.example.com", 443));
        assert_eq!(parse("https://hooks.example.com:8443/", false).unwrap().port, 8443);
    }

    #[test]
    fn addresses_internal_names_user_info_and_plain_http_are_refused() {
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://127.0.0.1/",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://0x7f000001/",
            "https://2130706433/",
            "https://localhost/",
            "https://api.localhost/",
            "https://metadata.google.internal/",
            "https://printer.local/",
            "https://intranet/",
            "https://user:pass@hooks.example.com/",
            "https://user@hooks.example.com/",
            "https://hooks.example.com/#frag",
            "not a url",
            "/relative",
        ] {
            assert!(parse(bad, false).is_err(), "{bad} must be refused");
        }
        assert!(parse(&format!("https://example.com/{}", "a".repeat(URL_MAX)), false).is_err());
    }

    #[test]
    fn a_local_deployment_admits_loopback_over_http_and_nothing_private() {
        for good in ["http://127.0.0.1:9000/hook", "http://localhost:9000/", "http://[::1]:9000/"] {
            assert!(parse(good, true).is_ok(), "{good}");
            assert!(parse(good, false).is_err(), "{good} only locally");
        }
        for bad in ["http://10.0.0.1/", "http://hooks.example.com/", "https://192.168.1.1/", "http://intranet/"] {
            assert!(parse(bad, true).is_err(), "{bad} even locally");
        }
    }
}
