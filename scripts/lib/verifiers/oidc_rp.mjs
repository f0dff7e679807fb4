// A customer's application signing its users in through our OpenID Provider, with no code of
// ours: panva's openid-client for a confidential web app, or oauth4webapi (strict, low-level)
// for a public single-page app. The browser is the test's; this script is the application's
// back end, in two steps:
//
//   node oidc_rp.mjs LIB start  ISSUER CLIENT_ID SECRET|- REDIRECT_URI EXTRA_PARAMS_JSON
//     discovery, then the authorization URL with PKCE (S256), state and nonce; prints
//     {url, verifier, state, nonce}
//   node oidc_rp.mjs LIB finish ISSUER CLIENT_ID SECRET|- REDIRECT_URI POST_LOGOUT_URI < CHECKS_JSON
//     CHECKS_JSON is {callback, verifier, state, nonce}: the code exchanged and every answer
//     validated by the library (state, iss, PKCE, the ID token's signature, iss, aud, exp,
//     nonce), then userinfo, a refresh and the end-session URL; prints what it got, or
//     {refused, code} when the library refused a step.
//
// LIB is openid-client or oauth4webapi.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(process.env.JWT_VERIFIERS, 'package.json'));
const [lib, step, issuer, clientId, secretArg, redirectUri, last] = process.argv.slice(2);
const secret = secretArg === '-' ? undefined : secretArg;
const server = new URL(issuer);

async function stdin() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

async function withOpenidClient() {
  const client = await import(require.resolve('openid-client'));
  // The test server is plain HTTP on loopback; the library refuses that unless told.
  const config = await client.discovery(
    server,
    clientId,
    undefined,
    secret ? client.ClientSecretBasic(secret) : client.None(),
    { execute: [client.allowInsecureRequests] },
  );
  if (step === 'start') {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...JSON.parse(last || '{}'),
    });
    return { url: url.href, verifier, state, nonce };
  }
  const checks = await stdin();
  const tokens = await client.authorizationCodeGrant(config, new URL(checks.callback), {
    pkceCodeVerifier: checks.verifier,
    expectedState: checks.state,
    expectedNonce: checks.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = tokens.refresh_token ? await client.refreshTokenGrant(config, tokens.refresh_token) : undefined;
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: last,
    state: 'bye-openid-client',
  });
  return {
    claims,
    userinfo,
    scope: tokens.scope,
    has_refresh_token: Boolean(tokens.refresh_token),
    refreshed_claims: refreshed?.claims(),
    access_token: tokens.access_token,
    end_session: endSession.href,
  };
}

async function withOauth4webapi() {
  const oauth = await import(require.resolve('oauth4webapi'));
  const insecure = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(server, await oauth.discoveryRequest(server, insecure));
  const client = { client_id: clientId };
  if (step === 'start') {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint);
    const params = {
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid profile email offline_access',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...JSON.parse(last || '{}'),
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return { url: url.href, verifier, state, nonce };
  }
  const checks = await stdin();
  const auth = secret ? oauth.ClientSecretBasic(secret) : oauth.None();
  const params = oauth.validateAuthResponse(as, client, new URL(checks.callback), checks.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as, client, auth, params, redirectUri, checks.verifier, insecure,
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: checks.nonce,
    requireIdToken: true,
  });
  const claims = oauth.getValidatedIdTokenClaims(result);
  const userinfo = await oauth.processUserInfoResponse(
    as, client, claims.sub, await oauth.userInfoRequest(as, client, result.access_token, insecure),
  );
  let refreshedClaims;
  if (result.refresh_token) {
    const refreshed = await oauth.processRefreshTokenResponse(
      as, client, await oauth.refreshTokenGrantRequest(as, client, auth, result.refresh_token, insecure),
    );
    refreshedClaims = oauth.getValidatedIdTokenClaims(refreshed);
  }
  return {
    claims,
    userinfo,
    scope: result.scope,
    has_refresh_token: Boolean(result.refresh_token),
    refreshed_claims: refreshedClaims,
    access_token: result.access_token,
  };
}

try {
  const out = lib === 'oauth4webapi' ? await withOauth4webapi() : await withOpenidClient();
  console.log(JSON.stringify(out));
} catch (e) {
  if (step === 'finish') {
    // A refusal is an answer the test asserts on.
    console.log(JSON.stringify({ refused: e.message, code: e.code ?? e.error ?? e.name, error: e.error }));
  } else {
    console.error(e);
    process.exit(1);
  }
}
