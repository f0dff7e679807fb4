"""Verifies an access token as a customer's Python service would: discovery from the issuer,
then PyJWT's PyJWKClient on the jwks_uri it names. Prints the claims; exits 1 if refused.

usage: verify.py ISSUER AUDIENCE TOKEN
"""
import json
import sys
import urllib.request

import jwt

issuer, audience, token = sys.argv[1:4]
with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration") as answer:
    discovery = json.load(answer)
if discovery["issuer"] != issuer:
    sys.exit(f"discovery names issuer {discovery['issuer']!r}, not {issuer!r}")
algorithms = discovery["access_token_signing_alg_values_supported"]
try:
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, key, algorithms=algorithms, audience=audience, issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
except jwt.PyJWTError as e:
    print(f"refused: {type(e).__name__}: {e}")
    sys.exit(1)
print(json.dumps({"alg": key.algorithm_name, "claims": claims}))
