"""Gets and uses a client-credentials token as a customer's Python back end would, with
libraries no one here wrote: the token endpoint read from the RFC 8414 metadata, a token from
authlib's OAuth2Session (client_secret_basic or client_secret_post) or requests-oauthlib's
BackendApplicationClient, the token verified through the JWKS by PyJWT, used on an org route,
then revoked (RFC 7009) with authlib. Prints what happened as JSON; exits 1 on a refusal.

usage: client_credentials.py ISSUER CLIENT_ID CLIENT_SECRET LIBRARY ORG_ID
  LIBRARY: authlib-basic | authlib-post | requests-oauthlib
"""
import json
import sys

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session as OAuthlibSession

issuer, client_id, secret, library, org = sys.argv[1:6]
meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
if meta["issuer"] != issuer:
    sys.exit(f"metadata names issuer {meta['issuer']!r}")
try:
    if library == "requests-oauthlib":
        session = OAuthlibSession(client=BackendApplicationClient(client_id=client_id))
        token = session.fetch_token(meta["token_endpoint"], auth=HTTPBasicAuth(client_id, secret))
    else:
        method = "client_secret_basic" if library == "authlib-basic" else "client_secret_post"
        session = OAuth2Session(client_id, secret, token_endpoint_auth_method=method)
        token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
except Exception as e:  # the libraries raise their own types for RFC 6749 errors
    print(json.dumps({"refused": f"{type(e).__name__}: {e}"}))
    sys.exit(1)

access = token["access_token"]
key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(access)
claims = jwt.decode(access, key, algorithms=[key.algorithm_name], audience="identity-api", issuer=issuer,
                    options={"require": ["exp", "iat", "iss", "aud", "sub"]})
header = jwt.get_unverified_header(access)
bearer = {"Authorization": f"Bearer {access}"}
before = requests.get(f"{issuer}/orgs/{org}", headers=bearer, timeout=10).status_code
revoker = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_basic")
revoked = revoker.revoke_token(meta["revocation_endpoint"], access, token_type_hint="access_token").status_code
after = requests.get(f"{issuer}/orgs/{org}", headers=bearer, timeout=10).status_code
print(json.dumps({"token": {k: v for k, v in token.items() if k != "access_token"}, "typ": header.get("typ"),
                  "claims": claims, "before": before, "revoked": revoked, "after": after}))
