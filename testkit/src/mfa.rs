//! Second factors in tests: enrolling an authenticator through the API, and codes for it.

use axum::http::{Method, StatusCode};
use identity_shared::auth::totp;
use serde_json::json;

use crate::TestApp;

/// An authenticator enrolled and proven through the API.
#[derive(Clone, Debug)]
pub struct Authenticator {
    /// The factor's id.
    pub id: String,
    /// Its secret, as an app holds it.
    pub secret: Vec<u8>,
    /// The recovery codes activation answered with.
    pub recovery_codes: Vec<String>,
}

impl Authenticator {
    /// The code an app shows `offset` steps from now.
    pub fn code(&self, offset: i64) -> String {
        let at = totp::now_secs().saturating_add_signed(offset * totp::STEP_SECS as i64);
        totp::code_at(&self.secret, at).expect("a code")
    }
}

/// Waits out the end of a time step when fewer than `MARGIN_SECS` of it are left, so that
/// a previous-step code computed now is still inside the server's window when it arrives
/// (on a loaded machine a request can straddle the boundary and the code fall out).
async fn clear_of_step_boundary() {
    const MARGIN_SECS: u64 = 5;
    let into_step = totp::now_secs() % totp::STEP_SECS;
    let left = totp::STEP_SECS - into_step;
    if left <= MARGIN_SECS {
        tokio::time::sleep(std::time::Duration::from_secs(left)).await;
    }
}

impl TestApp {
    /// Enrols and activates an authenticator for `token`'s account (whose password is
    /// `password`), proving it with the previous step's code so that the current and next
    /// steps stay usable.
    pub async fn enrol_totp(&self, token: &str, password: &str) -> Authenticator {
        let res = self.call(Method::POST, "/me/mfa/totp", Some(json!({"password": password})), Some(token)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
        let id = res.json["id"].as_str().expect("a factor id").to_owned();
        let secret = totp::decode_secret(res.json["secret"].as_str().expect("a secret")).expect("a base32 secret");
        let pending = Authenticator { id, secret, recovery_codes: Vec::new() };
        clear_of_step_boundary().await;
        let body = json!({"code": pending.code(-1)});
        let res = self.call(Method::POST, format!("/me/mfa/totp/{}/verify", pending.id), Some(body), Some(token)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.json);
        let codes = res.json["recovery_codes"].as_array().expect("recovery codes");
        let recovery_codes = codes.iter().map(|c| c.as_str().expect("a code").to_owned()).collect();
        Authenticator { recovery_codes, ..pending }
    }

    /// Forgets which time step the factor last accepted, so the current code works again:
    /// for tests that sign in more often than once per 30 s.
    pub async fn forget_used_steps(&self) {
        self.sql("UPDATE mfa_factors SET last_used_step = NULL").await;
    }

    /// Signs in with password and then the current code through the API; (access, refresh).
    pub async fn login_with_code(&self, email: &str, password: &str, factor: &Authenticator) -> (String, String) {
        self.forget_used_steps().await;
        let res = self.post("/auth/login", json!({"email": email, "password": password})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.json);
        assert_eq!(res.json["mfa_required"], true, "{}", res.json);
        let body = json!({"mfa_token": res.json["mfa_token"], "code": factor.code(0)});
        let res = self.post("/auth/mfa/verify", body).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.json);
        let token = |name: &str| res.json[name].as_str().expect("a token").to_owned();
        (token("access_token"), token("refresh_token"))
    }
}
