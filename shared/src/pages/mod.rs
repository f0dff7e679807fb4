//! The hosted pages behind the mailed links (accept an invitation, verify an email, reset a
//! password, confirm an email change): server-rendered HTML with no script, one stylesheet,
//! and forms protected by a CSRF token bound to the link's token. Handlers live in the
//! function that owns each flow; the views, the CSRF check and the page answer live here.

pub mod csrf;
pub mod form;
pub mod page;
pub mod sign_in;
pub mod views;

pub use csrf::Csrf;
pub use form::{PageForm, PageToken};
pub use page::Page;

/// The stylesheet every page links to, served at `/pages/style.css`.
pub const STYLESHEET: &str = include_str!("style.css");
