//! Rewrites parts of a `postgres://` URL: the credentials a secret holds, the proxy endpoint
//! DATABASE_HOST names.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

/// Why the parts cannot be set on the URL. No variant holds a password.
#[derive(Debug, thiserror::Error)]
pub enum UrlPartsError {
    /// A libpq `key=value` string, which has no URL to set parts on.
    #[error("DATABASE_URL must be a postgres:// URL to take a host or credentials from elsewhere")]
    NotAUrlForm,
    /// The URL did not parse.
    #[error("DATABASE_URL is not a URL")]
    Unparsable(#[source] url::ParseError),
    /// The host does not fit in a URL.
    #[error("host '{host}'")]
    Host {
        /// The host given.
        host: String,
        /// Why the URL refused it.
        #[source]
        source: url::ParseError,
    },
    /// Neither the URL nor the parts name a host.
    #[error("no database host: set it in DATABASE_URL or the secret")]
    NoHost,
    /// The URL cannot take this part (a URL without a host cannot take credentials).
    #[error("the URL cannot take a {0}")]
    CannotTake(&'static str),
}

/// The parts to set; `None` keeps the URL's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// The user name.
    pub user: Option<String>,
    /// The password.
    pub password: Option<String>,
    /// The host name or address.
    pub host: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// The database name.
    pub dbname: Option<String>,
}

/// `base` (or an empty `postgres://` URL) with `parts` set, percent-encoded as URLs need.
/// The query (`sslmode`, `sslrootcert`, ...) is kept.
pub fn with_parts(base: Option<&str>, parts: &Parts) -> Result<String, UrlPartsError> {
    let base = base.unwrap_or("postgres://");
    if !(base.starts_with("postgres://") || base.starts_with("postgresql://")) {
        return Err(UrlPartsError::NotAUrlForm);
    }
    // The URL parser wants a host before it accepts credentials; the real one is set below.
    let mut url = Url::parse(base).map_err(UrlPartsError::Unparsable)?;
    if let Some(host) = &parts.host {
        url.set_host(Some(host)).map_err(|source| UrlPartsError::Host { host: host.clone(), source })?;
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlPartsError::NoHost);
    }
    if let Some(port) = parts.port {
        url.set_port(Some(port)).map_err(|()| UrlPartsError::CannotTake("port"))?;
    }
    if let Some(user) = &parts.user {
        url.set_username(&encode(user)).map_err(|()| UrlPartsError::CannotTake("user name"))?;
    }
    if let Some(password) = &parts.password {
        url.set_password(Some(&encode(password))).map_err(|()| UrlPartsError::CannotTake("password"))?;
    }
    if let Some(dbname) = &parts.dbname {
        url.set_path(&format!("/{}", encode(dbname)));
    }
    Ok(url.into())
}

/// Every byte but letters and digits escaped: the url crate leaves `%` as it is, taking it for
/// an escape already made, and libpq-style parsers decode exactly this.
fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_from_a_secret_fill_a_url_without_them() {
        let parts = Parts {
            user: Some("identity".into()),
            password: Some("p@ss:w/rd?#%".into()),
            host: Some("db.abc.eu-west-1.rds.amazonaws.com".into()),
            port: Some(5432),
            dbname: Some("identity db".into()),
        };
        let url = with_parts(Some("postgres://localhost/x?sslmode=verify-full"), &parts).unwrap();
        assert_eq!(
            url,
            "postgres://identity:p%40ss%3Aw%2Frd%3F%23%25@db.abc.eu-west-1.rds.amazonaws.com:5432/identity%20db?sslmode=verify-full"
        );
        let parsed: tokio_postgres::Config = crate::db::tls::split(&url).unwrap().driver_url.parse().unwrap();
        assert_eq!(parsed.get_password(), Some(&b"p@ss:w/rd?#%"[..]));
        assert_eq!(parsed.get_dbname(), Some("identity db"));
    }

    #[test]
    fn a_host_alone_replaces_only_the_host() {
        let parts = Parts { host: Some("proxy.proxy-abc.eu-west-1.rds.amazonaws.com".into()), ..Parts::default() };
        let url = with_parts(Some("postgres://u:p@instance:5432/db?sslmode=verify-full"), &parts).unwrap();
        assert_eq!(url, "postgres://u:p@proxy.proxy-abc.eu-west-1.rds.amazonaws.com:5432/db?sslmode=verify-full");
    }

    #[test]
    fn no_host_anywhere_and_key_value_strings_are_refused() {
        let parts = Parts { password: Some("x".into()), ..Parts::default() };
        assert!(with_parts(None, &parts).unwrap_err().to_string().contains("no database host"));
        assert!(with_parts(Some("host=db user=u"), &parts).unwrap_err().to_string().contains("postgres:// URL"));
    }
}
