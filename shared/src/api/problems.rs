//! The problem answers each route family documents, as utoipa `IntoResponses` sets, so a
//! handler's `responses(...)` names its families instead of spelling every status.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

use crate::error::{PROBLEM_JSON, Problem};

/// One documented problem answer: its status and what it means on these routes.
struct Answer(u16, &'static str);

const MALFORMED: Answer = Answer(400, "Malformed JSON or request");
const UNAUTHORIZED: Answer = Answer(401, "No valid access token, or the session ended");
const FORBIDDEN: Answer = Answer(403, "Lacking a permission");
const ORG_FORBIDDEN: Answer = Answer(
    403,
    "Lacking a permission; or, typed urn:identity-api:problem:mfa-required, the org requires a second factor \
     this session has not proved",
);
const SCOPE_FORBIDDEN: Answer = Answer(
    403,
    "A disabled account or not a member of org_id; or, typed urn:identity-api:problem:mfa-required, that org \
     requires a second factor this session has not proved",
);
const NOT_FOUND: Answer = Answer(404, "Not found (also for orgs the caller is not a member of)");
const KEY_RATE: Answer = Answer(429, "An API key over its requests per minute (Retry-After says when)");
const CONFLICT: Answer = Answer(409, "Conflicts with the current state");
const DEFAULT_ROLE: Answer =
    Answer(409, "The role is the organization's default role for invitations, or pending invitations grant it");
const UNPROVEN: Answer = Answer(403, "The account's address is not proven yet (verify it first)");
const QUOTA: Answer =
    Answer(429, "A quota is spent: typed urn:identity-api:problem:quota-exceeded, its quota member names it");
const ATTEMPTS_OR_QUOTA: Answer = Answer(
    429,
    "Too many password attempts; or, typed urn:identity-api:problem:quota-exceeded, the quota its quota member \
     names is spent",
);
const LAST_OWNER: Answer = Answer(409, "The user is the last owner of the organizations the detail names");
const GONE: Answer = Answer(410, "Expired or revoked");
const TOO_LARGE: Answer = Answer(413, "Body over 64 KiB");
const NOT_JSON: Answer = Answer(415, "Body is not JSON");
const INVALID: Answer = Answer(422, "Invalid fields");
const ADDRESS_LIMITED: Answer = Answer(429, "Too many requests from this address");
const ATTEMPTS_LIMITED: Answer = Answer(429, "Too many attempts");
const UNAVAILABLE: Answer = Answer(503, "Database unavailable");
const HASHING_BUSY: Answer = Answer(503, "Database unavailable, or every password hashing slot is busy");

/// The answers as OpenAPI responses whose body is the `Problem` schema.
fn problems(answers: &[Answer]) -> BTreeMap<String, RefOr<Response>> {
    answers
        .iter()
        .map(|Answer(status, description)| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
            let response = ResponseBuilder::new().description(*description).content(PROBLEM_JSON, content);
            (status.to_string(), response.build().into())
        })
        .collect()
}

/// Declares a unit type whose `IntoResponses` are the given answers.
macro_rules! problem_set {
    ($($(#[$doc:meta])* $name:ident: $($answer:ident),+;)+) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problems(&[$($answer),+])
            }
        }
    )+};
}

problem_set! {
    /// A JSON body was read: malformed (400), over the limit (413), not JSON (415) or with
    /// invalid fields (422).
    JsonBody: MALFORMED, TOO_LARGE, NOT_JSON, INVALID;
    /// Query parameters with invalid values (422).
    InvalidQuery: INVALID;
    /// A bearer route: no valid token (401) or no database (503).
    SignedIn: UNAUTHORIZED, UNAVAILABLE;
    /// A route under `/orgs/{org}`: no token (401), no permission (403), not a member or no such
    /// thing (404), an API key over its rate (429), no database (503).
    OrgRoute: UNAUTHORIZED, ORG_FORBIDDEN, NOT_FOUND, KEY_RATE, UNAVAILABLE;
    /// No valid token (401), where a slot-bound hash may also make the route 503.
    Unauthorized: UNAUTHORIZED;
    /// Signed in but not allowed (403).
    Forbidden: FORBIDDEN;
    /// An org-scoped token refused (403): a disabled account, a non-member, or an org that
    /// requires a second factor.
    ScopeForbidden: SCOPE_FORBIDDEN;
    /// No such thing (404).
    NotFound: NOT_FOUND;
    /// The request conflicts with the current state (409).
    Conflict: CONFLICT;
    /// The role cannot go while invitations default to it (409).
    DefaultRoleConflict: DEFAULT_ROLE;
    /// Deleting an account that is the last owner of an org (409).
    LastOwner: LAST_OWNER;
    /// An invitation that expired or was revoked (410).
    Gone: GONE;
    /// The per-address limit (429).
    AddressLimited: ADDRESS_LIMITED;
    /// The per-email attempt limit, or the per-address one (429).
    AttemptsLimited: ATTEMPTS_LIMITED;
    /// The account's address is not proven (403).
    Unproven: UNPROVEN;
    /// A quota is spent (429, `quota-exceeded`).
    QuotaSpent: QUOTA;
    /// The per-email attempt limit, or a quota (429).
    AttemptsOrQuota: ATTEMPTS_OR_QUOTA;
    /// No database (503).
    Unavailable: UNAVAILABLE;
    /// No database, or every password hashing slot busy (503).
    HashingBusy: HASHING_BUSY;
}

/// Adds the `Problem` schema, and the ones it refers to, which the sets above name by reference.
pub fn add_schemas(components: &mut utoipa::openapi::Components) {
    use utoipa::{PartialSchema, ToSchema};
    let mut schemas = vec![(Problem::name().into_owned(), Problem::schema())];
    Problem::schemas(&mut schemas);
    components.schemas.extend(schemas);
}
