//! What the HTTP API says: request and response bodies with their OpenAPI schemas, and the
//! problem answers each route family documents.

pub mod problems;
