//! Bodies of the domain routes, each parsed into what its service takes.

use serde::Deserialize;

use crate::domains::name::DomainName;
use crate::error::AppResult;
use crate::models::{EnrollmentMode, FieldErrors};

/// Longest domain a body may name, before normalising (a DNS name is at most 253).
const DOMAIN_MAX: usize = 512;

/// Body of POST /orgs/{org}/domains.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateDomain {
    /// The domain to claim: normalised (case, IDNA, a trailing dot); not an IP address, a single
    /// label, a public suffix or a consumer mail provider's domain.
    #[schema(example = "example.com", max_length = 253)]
    pub domain: String,
}

/// Body of PATCH /orgs/{org}/domains/{domain_id}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateDomain {
    /// `manual` (nothing automatic), `invitation` (a pending invitation with the default role,
    /// no mail) or `auto_join` (membership with the default role), for people whose verified
    /// email is at the domain once it is verified.
    #[schema(example = "auto_join")]
    pub enrollment_mode: String,
}

impl CreateDomain {
    /// The claimable domain, or a 422 on `domain`.
    pub fn parse(self) -> AppResult<DomainName> {
        let mut fields = FieldErrors::default();
        let domain = fields.check("domain", {
            if self.domain.len() > DOMAIN_MAX {
                Err("is longer than a domain name can be".to_owned())
            } else {
                DomainName::parse(&self.domain)
            }
        });
        fields.finish(|| domain)
    }
}

impl UpdateDomain {
    /// The mode, or a 422 on `enrollment_mode`.
    pub fn parse(self) -> AppResult<EnrollmentMode> {
        let mut fields = FieldErrors::default();
        let mode = fields.check(
            "enrollment_mode",
            EnrollmentMode::parse(self.enrollment_mode.trim())
                .ok_or_else(|| "must be manual, invitation or auto_join".to_owned()),
        );
        fields.finish(|| mode)
    }
}
