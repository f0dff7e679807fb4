# Sourced by scripts: clients and servers written by others, to check that our tokens verify,
# our OAuth endpoints answer the way a customer's code expects, our webhooks verify and our
# single sign-on works with real identity providers: PyJWT's PyJWKClient, authlib,
# requests-oauthlib, standardwebhooks and oidc-provider-mock (PyPI), and jose, openid-client,
# oauth4webapi, standardwebhooks and oidc-provider (npm), in .local/verifiers. Installed once;
# JWT_VERIFIERS is exported for the tests that run them.

VERIFIERS_DIR="$PWD/.local/verifiers"
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
VERIFIERS_PINS="pyjwt[crypto]==$PYJWT_VERSION authlib==$AUTHLIB_VERSION requests==$REQUESTS_VERSION requests-oauthlib==$REQUESTS_OAUTHLIB_VERSION jose@$JOSE_VERSION openid-client@$OPENID_CLIENT_VERSION oauth4webapi@$OAUTH4WEBAPI_VERSION standardwebhooks==$STANDARDWEBHOOKS_PY_VERSION standardwebhooks@$STANDARDWEBHOOKS_NPM_VERSION oidc-provider-mock==$OIDC_PROVIDER_MOCK_VERSION oidc-provider@$OIDC_PROVIDER_VERSION"

verifiers_install() {
  if [ ! -f "$VERIFIERS_DIR/.pins" ] || [ "$(cat "$VERIFIERS_DIR/.pins")" != "$VERIFIERS_PINS" ]; then
    echo "== installing the verifiers and identity providers ($VERIFIERS_PINS) into .local/verifiers"
    command -v npm >/dev/null || { echo "npm is needed for the npm clients (apt-get install npm)" >&2; return 1; }
    rm -rf "$VERIFIERS_DIR"
    python3 -m venv "$VERIFIERS_DIR/venv"
    "$VERIFIERS_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "pyjwt[crypto]==$PYJWT_VERSION" \
      "authlib==$AUTHLIB_VERSION" "requests==$REQUESTS_VERSION" "requests-oauthlib==$REQUESTS_OAUTHLIB_VERSION" \
      "standardwebhooks==$STANDARDWEBHOOKS_PY_VERSION" "oidc-provider-mock==$OIDC_PROVIDER_MOCK_VERSION"
    npm install --prefix "$VERIFIERS_DIR" --no-audit --no-fund --loglevel=error "jose@$JOSE_VERSION" \
      "openid-client@$OPENID_CLIENT_VERSION" "oauth4webapi@$OAUTH4WEBAPI_VERSION" "standardwebhooks@$STANDARDWEBHOOKS_NPM_VERSION" \
      "oidc-provider@$OIDC_PROVIDER_VERSION" >/dev/null
    echo "$VERIFIERS_PINS" >"$VERIFIERS_DIR/.pins"
  fi
  export JWT_VERIFIERS="$VERIFIERS_DIR"
}
