//! What the HTTP API says: request bodies and queries with their OpenAPI schemas, each parsed
//! once into the checked input its service takes, and the problem answers each route family
//! documents. Answers are models.

pub mod api_keys;
pub mod auth;
pub mod domains;
pub mod events;
pub mod invitations;
pub mod mfa;
pub mod oauth;
pub mod oauth_clients;
pub mod orgs;
pub mod problems;
pub mod sso;
pub mod users;
pub mod webhooks;
