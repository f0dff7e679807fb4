//! The OpenID Provider: applications sign their users in through the hosted pages with an
//! authorization code and PKCE, and get ID tokens, access tokens and (with `offline_access`)
//! refresh tokens; sessions opened here are ordinary sessions.

mod authorize;
mod hosted;
mod sign_out;
mod tokens;

pub use crate::repositories::provider::{App, AuthRequest};
pub use authorize::{
    AuthorizeParams, BROWSER_SESSION_TTL, CODE_TTL, ErrorRedirect, Next, SESSION_COOKIE, authorize,
    open_browser_session, pending, request_gone, resume,
};
pub use hosted::{PasswordStep, with_code, with_password};
pub use sign_out::{SignOut, SignOutNext, end_session, sign_out_browser};
pub use tokens::{OidcTokens, UserInfo, exchange_code, names_an_application, refresh, revoke, userinfo};
