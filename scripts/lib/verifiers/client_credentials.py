"""Gets and uses a client-credentials token as a customer's Python back end would, with
libraries no one here wrote: the token endpoint read from the RFC 8414 metadata, a token from
authlib's OAuth2Session (client_secret_basic, client_secret_post, or private_key_jwt with an
ES256 key, RFC 7523) or requests-oauthlib's BackendApplicationClient, the token verified through
the JWKS by PyJWT, used on an org route, then revoked (RFC 7009) with authlib. Prints what
happened as JSON; exits 1 on a refusal.

usage: client_credentials.py ISSUER CLIENT_ID CLIENT_SECRET LIBRARY ORG_ID
  LIBRARY: authlib-basic | authlib-post | authlib-private-key-jwt | requests-oauthlib
  (for authlib-private-key-jwt, CLIENT_SECRET is the client's private key, PEM)
"""
import json
import sys

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session as OAuthlibSession

issuer, client_id, secret, library, org = sys.argv[1:6]
meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
if meta["issuer"] != issuer:
    sys.exit(f"metadata names issuer {meta['issuer']!r}")


def session_for(library):
    """An authlib session authenticating as the library names."""
    if library == "authlib-private-key-jwt":
        key = ECKey.import_key(secret)
        method = PrivateKeyJWT(meta["token_endpoint"], alg="ES256")
        session = OAuth2Session(client_id, key, token_endpoint_auth_method=method)
        # Revocation authenticates the same way (authlib's default there is client_secret_basic).
        session.revocation_endpoint_auth_method = method
        return session
    method = "client_secret_post" if library == "authlib-post" else "client_secret_basic"
    return OAuth2Session(client_id, secret, token_endpoint_auth_method=method)


try:
    if library == "requests-oauthlib":
        session = OAuthlibSession(client=BackendApplicationClient(client_id=client_id))
        token = session.fetch_token(meta["token_endpoint"], auth=HTTPBasicAuth(client_id, secret))
    else:
        token = session_for(library).fetch_token(meta["token_endpoint"], grant_type="client_credentials")
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
revoker = session_for(library if library.startswith("authlib") else "authlib-basic")
revocation = revoker.revoke_token(meta["revocation_endpoint"], access, token_type_hint="access_token")
revoked = revocation.status_code
after = requests.get(f"{issuer}/orgs/{org}", headers=bearer, timeout=10).status_code
print(json.dumps({"token": {k: v for k, v in token.items() if k != "access_token"}, "typ": header.get("typ"),
                  "claims": claims, "before": before, "revoked": revoked, "after": after,
                  "revocation_error": None if revoked == 200 else revocation.text}))
