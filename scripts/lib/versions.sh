# Sourced by scripts: every tool the scripts install into .local/, pinned in this one place.
# A change here reinstalls the tool on the next run (each install keeps a .pins stamp).

# PyPI
CARGO_LAMBDA_VERSION=1.9.2
AWS_SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0
MOTO_VERSION=5.2.5
SCHEMATHESIS_VERSION=4.32.5
PYJWT_VERSION=2.10.1
AUTHLIB_VERSION=1.9.10
REQUESTS_VERSION=2.34.2
REQUESTS_OAUTHLIB_VERSION=2.0.0
STANDARDWEBHOOKS_PY_VERSION=1.3.0
# The domain tests' DNS server (scripts/lib/dns_server.py).
DNSLIB_VERSION=0.9.26
# An organization's identity provider sending what a real one would not (the SSO tests).
OIDC_PROVIDER_MOCK_VERSION=0.3.4

# npm
SES_LOCAL_VERSION=2.10.2
NEWMAN_VERSION=6.2.2
JOSE_VERSION=5.9.6
OPENID_CLIENT_VERSION=6.9.1
OAUTH4WEBAPI_VERSION=3.8.9
# Standard Webhooks' reference verifier, judging our webhook signatures (and its PyPI twin).
STANDARDWEBHOOKS_NPM_VERSION=1.3.0
# panva's OpenID Provider (the engine under Logto): an organization's identity provider in the
# SSO tests.
OIDC_PROVIDER_VERSION=9.13.3
