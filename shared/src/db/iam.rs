//! RDS IAM database authentication: a SigV4-presigned `rds-db:connect` URL is the password,
//! valid for 15 minutes to open a connection (an open connection outlives it).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// How long a token may be used to connect; RDS accepts at most 15 minutes.
const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// Why no token could be signed.
#[derive(Debug, thiserror::Error)]
pub enum IamTokenError {
    /// DATABASE_URL names a socket, not a host a token can be signed for.
    #[error("IAM database authentication needs a TCP host in DATABASE_URL")]
    NoTcpHost,
    /// DATABASE_URL names no user.
    #[error("IAM database authentication needs a user in DATABASE_URL")]
    NoUser,
    /// The signing parameters were refused.
    #[error("RDS auth token signing parameters")]
    Params(#[source] aws_sigv4::sign::v4::signing_params::BuildError),
    /// The request to sign was refused.
    #[error("RDS auth token request")]
    Request(#[source] aws_sigv4::http_request::SigningError),
    /// Signing failed.
    #[error("signing the RDS auth token")]
    Sign(#[source] aws_sigv4::http_request::SigningError),
    /// The signed URL did not make a request.
    #[error("RDS auth token URL")]
    Url(#[source] http::Error),
}

/// Whom a token lets connect, and where.
#[derive(Clone, Copy, Debug)]
pub struct TokenRequest<'a> {
    /// The endpoint's host name, as the client connects to it.
    pub host: &'a str,
    /// The endpoint's port.
    pub port: u16,
    /// The database user (granted `rds_iam`).
    pub user: &'a str,
    /// The database's region.
    pub region: &'a str,
}

/// Signs a fresh token for each new connection, with the function's role.
#[derive(Clone, Debug)]
pub struct IamAuth {
    credentials: Credentials,
    region: String,
}

impl IamAuth {
    /// Signs with these credentials for a database in `region`.
    pub fn new(credentials: Credentials, region: String) -> IamAuth {
        IamAuth { credentials, region }
    }

    /// A token for the host, port and user `pg` connects with.
    pub fn password_for(&self, pg: &tokio_postgres::Config) -> Result<String, IamTokenError> {
        let host = pg
            .get_hosts()
            .iter()
            .find_map(|h| match h {
                tokio_postgres::config::Host::Tcp(name) => Some(name.as_str()),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(_) => None,
            })
            .ok_or(IamTokenError::NoTcpHost)?;
        let port = pg.get_ports().first().copied().unwrap_or(5432);
        let user = pg.get_user().ok_or(IamTokenError::NoUser)?;
        auth_token(&TokenRequest { host, port, user, region: &self.region }, &self.credentials, SystemTime::now())
    }
}

/// The token for `request`, signed with `credentials` at `time`: the presigned URL of
/// `GET https://host:port/?Action=connect&DBUser=user` without its scheme, as the AWS SDKs'
/// RDS signers and `aws rds generate-db-auth-token` print it.
pub fn auth_token(
    request: &TokenRequest<'_>,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, IamTokenError> {
    let identity = Identity::from(credentials.clone());
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(request.region)
        .name("rds-db")
        .time(time)
        .settings(settings)
        .build()
        .map_err(IamTokenError::Params)?
        .into();
    let user: String = form_urlencoded::byte_serialize(request.user.as_bytes()).collect();
    let url = format!("https://{}:{}/?Action=connect&DBUser={user}", request.host, request.port);
    let signable = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(IamTokenError::Request)?;
    let (instructions, _signature) = sign(signable, &params).map_err(IamTokenError::Sign)?.into_parts();
    let mut signed = http::Request::builder().uri(&url).body(()).map_err(IamTokenError::Url)?;
    instructions.apply_to_request_http1x(&mut signed);
    let uri = signed.uri().to_string();
    Ok(uri.strip_prefix("https://").unwrap_or(&uri).to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    /// 2024-08-26T22:00:00Z, the time of the AWS SDK for Rust's own RDS signer test.
    const SDK_TEST_TIME: u64 = 1_724_709_600;

    fn request(host: &str) -> TokenRequest<'_> {
        TokenRequest { host, port: 3306, user: "peccy", region: "us-east-1" }
    }

    #[test]
    fn matches_the_aws_sdk_test_vector() {
        let credentials = Credentials::new("akid", "secret", None, None, "test");
        let token = auth_token(
            &request("prod-instance.us-east-1.rds.amazonaws.com"),
            &credentials,
            UNIX_EPOCH + Duration::from_secs(SDK_TEST_TIME),
        )
        .unwrap();
        assert_eq!(
            token,
            "prod-instance.us-east-1.rds.amazonaws.com:3306/?Action=connect&DBUser=peccy\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=akid%2F20240826%2Fus-east-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20240826T220000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=dd0cba843009474347af724090233265628ace491ea17ce3eb3da098b983ad89"
        );
    }

    #[test]
    fn temporary_credentials_carry_their_session_token_and_no_scheme() {
        let credentials = Credentials::new("ASIAEXAMPLE", "secret", Some("to/ken+=".into()), None, "test");
        let token =
            auth_token(&request("db.example"), &credentials, UNIX_EPOCH + Duration::from_secs(SDK_TEST_TIME)).unwrap();
        assert!(token.starts_with("db.example:3306/?Action=connect&DBUser=peccy&"), "{token}");
        // Signed (SessionTokenMode::Include), though appended after the signature.
        assert!(token.contains("&X-Amz-Security-Token=to%2Fken%2B%3D"), "{token}");
        assert!(!token.contains("://"), "{token}");
    }

    #[test]
    fn each_second_signs_a_different_token() {
        let credentials = Credentials::new("akid", "secret", None, None, "test");
        let at = |secs| auth_token(&request("db.example"), &credentials, UNIX_EPOCH + Duration::from_secs(secs));
        assert_ne!(at(SDK_TEST_TIME).unwrap(), at(SDK_TEST_TIME + 1).unwrap());
    }
}
