//! CSRF protection for the pages' forms, with no server-side state: a random cookie set when
//! a page is shown (SameSite=Strict, so no other site's form sends it), and a hidden field
//! that is a digest of that cookie and the link's token. A POST must carry both, and they must
//! agree: another site can neither read the cookie nor compute the field.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::HeaderMap;
use axum::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::tokens;
use crate::error::AppError;
use crate::pages::Page;

/// The cookie's name.
pub const COOKIE: &str = "identity_csrf";

/// The browser's CSRF secret: the one its cookie carries, or a new one to set.
#[derive(Clone)]
pub struct Csrf {
    secret: SecretString,
    is_new: bool,
}

impl std::fmt::Debug for Csrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Csrf").field("is_new", &self.is_new).finish_non_exhaustive()
    }
}

impl Csrf {
    /// The secret the request's cookie carries, if it has a well-formed one.
    pub fn from_cookie(headers: &HeaderMap) -> Option<Csrf> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == COOKIE && tokens::is_well_formed(c.value()))
            .map(|c| Csrf { secret: c.value().to_owned().into(), is_new: false })
    }

    /// The request's secret, or a new one (which the page then sets).
    pub fn for_page(headers: &HeaderMap) -> Csrf {
        Csrf::from_cookie(headers).unwrap_or_else(|| Csrf { secret: tokens::generate().into(), is_new: true })
    }

    /// The hidden field for a form acting on `link_token`.
    pub fn field(&self, link_token: &str) -> String {
        URL_SAFE_NO_PAD.encode(digest(self.secret.expose_secret(), link_token))
    }

    /// The browser's secret if the form's `field` is its field for `link_token`; else the 403
    /// page (a form posted from elsewhere, or a page from before the cookie was cleared).
    pub fn check(headers: &HeaderMap, link_token: &str, field: &str) -> Result<Csrf, Page> {
        Csrf::from_cookie(headers).filter(|csrf| csrf.accepts(link_token, field)).ok_or_else(|| {
            Page::error(&AppError::Forbidden(
                "This form was not sent from its page, or the page is too old. Open the link from your email again."
                    .into(),
            ))
        })
    }

    /// Whether `field` is this secret's field for `link_token`, compared in constant time.
    pub fn accepts(&self, link_token: &str, field: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(field) else { return false };
        verify_slices_are_equal(&given, &digest(self.secret.expose_secret(), link_token)).is_ok()
    }

    /// The Set-Cookie value for a new secret (None when the browser has one). `secure` is false
    /// only for plain-HTTP local servers. The path is `/`, since a stage or base path may come
    /// before `/pages`; HttpOnly and SameSite=Strict keep it from scripts and other sites.
    pub fn set_cookie(&self, secure: bool) -> Option<String> {
        self.is_new.then(|| {
            Cookie::build((COOKIE, self.secret.expose_secret().to_owned()))
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Strict)
                .build()
                .to_string()
        })
    }
}

/// SHA-256 over a domain tag, the cookie secret and the link token.
fn digest(secret: &str, link_token: &str) -> Vec<u8> {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in ["identity-pages-csrf", secret, link_token] {
        ctx.update(part.as_bytes());
        ctx.update(&[0]);
    }
    ctx.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_field_binds_the_cookie_to_the_link() {
        let csrf = Csrf::for_page(&HeaderMap::new());
        let set = csrf.set_cookie(true).expect("a new secret is set");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Secure"), "{set}");
        let cookie = set.split(';').next().unwrap().to_owned();
        let again = Csrf::from_cookie(&with_cookie(&format!("other=1; {cookie}"))).expect("read back");
        assert!(again.set_cookie(true).is_none(), "a known secret is not set again");
        let link = tokens::generate();
        let field = csrf.field(&link);
        assert!(again.accepts(&link, &field));
        assert!(!again.accepts(&tokens::generate(), &field), "another link's field is refused");
        let stranger = Csrf::for_page(&HeaderMap::new());
        assert!(!stranger.accepts(&link, &field), "another browser's field is refused");
        assert!(!again.accepts(&link, "not base64!"));
        assert!(!again.accepts(&link, ""));
    }

    #[test]
    fn malformed_cookies_are_not_secrets() {
        assert!(Csrf::from_cookie(&with_cookie("identity_csrf=short")).is_none());
        assert!(Csrf::from_cookie(&HeaderMap::new()).is_none());
    }
}
