"""A customer's Python web application signing its users in through our OpenID Provider with
authlib, no code of ours: discovery, the authorization URL with PKCE (S256), state and nonce
from authlib's OAuth2Session, the code exchanged by it (it checks the state), the ID token
checked by authlib's OpenID Connect rules (CodeIDToken: signature through the JWKS, iss, aud,
exp, iat, nonce, auth_time), userinfo, a refresh and the end-session URL. The browser is the
test's; this script is the application's back end, in two steps:

usage: oidc_rp.py start  ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI EXTRA_PARAMS_JSON
         prints {url, verifier, state, nonce}
       oidc_rp.py finish ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI < CHECKS_JSON
         CHECKS_JSON is {callback, verifier, state, nonce}; prints what it got, or {refused} when
         authlib refused a step
"""
import json
import os
import sys
import warnings

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session

# The test server is plain HTTP on loopback.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
warnings.filterwarnings("ignore", module="authlib")
from authlib.jose import JsonWebKey, jwt  # noqa: E402  (after the filter: a deprecation notice)
from authlib.oidc.core import CodeIDToken  # noqa: E402

step, issuer, client_id, secret, redirect_uri, last = sys.argv[1:7]
meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
if meta["issuer"] != issuer:
    sys.exit(f"discovery names issuer {meta['issuer']!r}")
scope = "openid profile email offline_access"


def session(state=None):
    return OAuth2Session(
        client_id, secret, scope=scope, redirect_uri=redirect_uri, code_challenge_method="S256", state=state
    )


def id_token_claims(id_token, nonce):
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        id_token,
        keys,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={"nonce": nonce, "client_id": client_id},
    )
    claims.validate(leeway=30)
    return dict(claims)


if step == "start":
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = session().create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **json.loads(last or "{}")
    )
    print(json.dumps({"url": url, "verifier": verifier, "state": state, "nonce": nonce}))
    sys.exit(0)

checks = json.load(sys.stdin)
try:
    client = session(state=checks["state"])
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=checks["callback"], code_verifier=checks["verifier"]
    )
    claims = id_token_claims(token["id_token"], checks["nonce"])
    userinfo = client.get(meta["userinfo_endpoint"], timeout=10)
    userinfo.raise_for_status()
    refreshed = client.refresh_token(meta["token_endpoint"]) if token.get("refresh_token") else None
    end_session = add_params_to_uri(
        meta["end_session_endpoint"],
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": last, "state": "bye-authlib"},
    )
    print(
        json.dumps(
            {
                "claims": claims,
                "userinfo": userinfo.json(),
                "scope": token.get("scope"),
                "has_refresh_token": bool(token.get("refresh_token")),
                "refreshed_claims": id_token_claims(refreshed["id_token"], None) if refreshed else None,
                "access_token": token["access_token"],
                "end_session": end_session,
            }
        )
    )
except Exception as e:  # a refusal is an answer the test asserts on
    print(json.dumps({"refused": f"{type(e).__name__}: {e}", "code": getattr(e, "error", type(e).__name__)}))
