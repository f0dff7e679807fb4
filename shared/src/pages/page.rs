//! A page as an HTTP answer: the layout around its body, and the headers every page carries
//! (strict CSP, no framing, no referrer, no caching: the URL holds a token). A page renders
//! with the default brand and keeps its parts on the answer, so that [`rebrand`] (a layer
//! that knows the deployment's brand) renders it again with the product's name, logo and
//! accent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::Markup;

use crate::brand::Brand;
use crate::error::AppError;
use crate::pages::views;

/// No script at all, styles only from our own stylesheet, forms only to ourselves, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                                           form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A rendered page and how to answer with it.
#[derive(Debug)]
pub struct Page {
    status: StatusCode,
    title: String,
    body: Markup,
    depth: u8,
    set_cookie: Vec<String>,
    retry_after: Option<u32>,
    /// An origin the page's forms may end up at (a sign-in's redirect back to its
    /// application): CSP's form-action covers the redirects after a submission.
    form_target: Option<Box<str>>,
    /// Served outside `/pages/` (the provider's endpoints under `/oauth2/`).
    outside: bool,
    /// An organization's name and logo, shown above the page's heading.
    org_logo: Option<Box<(String, String)>>,
}

/// What a page was made of, kept on its answer for [`rebrand`].
#[derive(Clone, Debug)]
pub struct PageParts {
    title: String,
    root: String,
    body: Markup,
    org_logo: Option<Box<(String, String)>>,
    form_target: Option<Box<str>>,
}

impl PageParts {
    /// The whole document and its CSP for `brand`.
    fn render(&self, brand: &Brand) -> (String, String) {
        let org = self.org_logo.as_deref().map(|(name, url)| (name.as_str(), url.as_str()));
        let html = views::layout(brand, &self.title, &self.root, org, self.body.clone()).into_string();
        let mut csp = CONTENT_SECURITY_POLICY.to_owned();
        if let Some(origin) = self.form_target.as_deref() {
            csp = csp.replace("form-action 'self'", &format!("form-action 'self' {origin}"));
        }
        let images: Vec<String> =
            [brand.logo_url.as_deref(), org.map(|(_, url)| url)].into_iter().flatten().filter_map(origin_of).collect();
        if !images.is_empty() {
            csp = csp.replace("img-src 'self'", &format!("img-src 'self' {}", images.join(" ")));
        }
        (html, csp)
    }
}

/// Renders a page's answer again with the deployment's brand (nothing to do for the default).
pub fn rebrand(response: &mut Response, brand: &Brand) {
    let Some(parts) = response.extensions_mut().remove::<PageParts>() else { return };
    if *brand == Brand::default() {
        return;
    }
    let (html, csp) = parts.render(brand);
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response.headers_mut().remove(header::CONTENT_LENGTH);
    *response.body_mut() = axum::body::Body::from(html);
}

impl Page {
    /// A 200 page at `/pages/<name>`.
    pub fn new(title: impl Into<String>, body: Markup) -> Page {
        Page {
            status: StatusCode::OK,
            title: title.into(),
            body,
            depth: 0,
            set_cookie: vec![],
            retry_after: None,
            form_target: None,
            outside: false,
            org_logo: None,
        }
    }

    /// Answers with this status instead.
    pub fn status(mut self, status: StatusCode) -> Page {
        self.status = status;
        self
    }

    /// Shows an organization's logo above the heading (its image URL is admitted by the CSP).
    pub fn org_logo(mut self, name: &str, url: Option<&str>) -> Page {
        self.org_logo = url.map(|u| Box::new((name.to_owned(), u.to_owned())));
        self
    }

    /// A page served from a sibling of `/pages/` (such as `/oauth2/logout`).
    pub fn outside_pages(mut self) -> Page {
        self.outside = true;
        self
    }

    /// For a page `levels` folders below `/pages/` (its links are relative, so that they work
    /// under an API Gateway stage or base path).
    pub fn below(mut self, levels: usize) -> Page {
        self.depth = u8::try_from(levels).unwrap_or(u8::MAX);
        self
    }

    /// Sets this cookie with the page (the CSRF secret of a first visit).
    pub fn cookie(mut self, set_cookie: Option<String>) -> Page {
        self.set_cookie.extend(set_cookie);
        self
    }

    /// Lets the page's forms lead to `origin` (scheme, host and port of a registered redirect
    /// URI), as the redirect after a sign-in does.
    pub fn form_target(mut self, uri: Option<&str>) -> Page {
        self.form_target = uri.and_then(origin_of).map(String::into_boxed_str);
        self
    }

    /// The error as a page of its own status: what went wrong and what to do, never internals.
    pub fn error(err: &AppError) -> Page {
        Page::error_then(err, views::AFTER_A_LINK)
    }

    /// The error as a page, saying `next` (what to do now) after it.
    pub fn error_then(err: &AppError, next: &str) -> Page {
        let status = err.status();
        let title = match status {
            StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => "This link is not valid",
            StatusCode::GONE => "This link has expired",
            StatusCode::CONFLICT => "This can no longer be done",
            StatusCode::FORBIDDEN => "This is not allowed",
            StatusCode::UNAUTHORIZED => "That did not work",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
            s if s.is_client_error() => "That request could not be used",
            _ => "Something went wrong",
        };
        let detail = match err {
            // A refused link says so in words ("The link is invalid, expired or already used").
            AppError::Validation(list) => list
                .iter()
                .map(|e| format!("{} {}.", if e.field == "token" { "The link" } else { e.field.as_str() }, e.message))
                .collect::<Vec<_>>()
                .join(" "),
            other => other.public_detail(),
        };
        let mut page = Page::new(title, views::problem(title, &detail, next)).status(status);
        page.retry_after = err.retry_after_secs().map(|s| u32::try_from(s).unwrap_or(u32::MAX));
        page
    }
}

impl From<AppError> for Page {
    fn from(err: AppError) -> Page {
        Page::error(&err)
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let root = if self.outside { "../pages/".to_owned() } else { "../".repeat(usize::from(self.depth)) };
        let parts = PageParts {
            title: self.title,
            root,
            body: self.body,
            org_logo: self.org_logo,
            form_target: self.form_target,
        };
        let (html, csp) = parts.render(&Brand::default());
        let mut response = (self.status, html).into_response();
        response.extensions_mut().insert(parts);
        let headers = response.headers_mut();
        for (name, value) in [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Ok(value) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        for cookie in self.set_cookie.iter().filter_map(|c| HeaderValue::from_str(c).ok()) {
            headers.append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// The origin (scheme, host, port) of a URL, as a CSP source; None for an opaque one (a native
/// app's private-use scheme, say), which no CSP source names.
pub fn origin_of(url: &str) -> Option<String> {
    let origin = url::Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The stylesheet's answer: cacheable, since it holds nothing private and changes only with
/// a deploy.
pub fn stylesheet() -> Response {
    stylesheet_of(crate::pages::STYLESHEET.to_owned())
}

/// A stylesheet's answer for `css`.
pub fn stylesheet_of(css: String) -> Response {
    let mut response = css.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(origin_of("https://cdn.acme.example/a/logo.svg").as_deref(), Some("https://cdn.acme.example"));
        assert_eq!(origin_of("http://127.0.0.1:8080/cb?x=1").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("com.example.app:/callback"), None);
    }
}
