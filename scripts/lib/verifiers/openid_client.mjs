// A customer's Node back end with panva's openid-client, no code of ours: discovery (RFC 8414
// and OpenID), client credentials with client_secret_basic and client_secret_post, the token
// used on an org route, introspected by the platform's client (RFC 7662), revoked (RFC 7009),
// and a wrong secret refused. Prints what happened as JSON; exits 1 when a step throws.
//
// usage: node openid_client.mjs ISSUER CLIENT_ID CLIENT_SECRET POST_CLIENT_ID POST_CLIENT_SECRET
//                               PLATFORM_ID PLATFORM_SECRET ORG_ID WRONG_SECRET
import { createRequire } from 'node:module';
import { join } from 'node:path';

// The clients are installed in JWT_VERIFIERS (scripts/lib/verifiers.sh), not beside this file.
const require = createRequire(join(process.env.JWT_VERIFIERS, 'package.json'));
const client = await import(require.resolve('openid-client'));

const [issuer, id, secret, postId, postSecret, platformId, platformSecret, org, wrong] = process.argv.slice(2);
// The test server is plain HTTP on loopback; the library refuses that unless told.
const insecure = { execute: [client.allowInsecureRequests] };
const server = new URL(issuer);
const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });
const out = {};
try {
  const basic = await client.discovery(server, id, undefined, client.ClientSecretBasic(secret), {
    ...insecure,
    algorithm: 'oauth2',
  });
  // The OpenID document leads to the same token endpoint.
  const posted = await client.discovery(server, postId, undefined, client.ClientSecretPost(postSecret), insecure);
  const platform = await client.discovery(server, platformId, undefined, client.ClientSecretBasic(platformSecret), {
    ...insecure,
    algorithm: 'oauth2',
  });
  out.endpoints = {
    token: basic.serverMetadata().token_endpoint,
    introspection: basic.serverMetadata().introspection_endpoint,
    revocation: basic.serverMetadata().revocation_endpoint,
  };
  const tokens = await client.clientCredentialsGrant(basic, { scope: 'org:read' });
  out.token = { token_type: tokens.token_type, expires_in: tokens.expires_in, scope: tokens.scope };
  out.access_token = tokens.access_token;
  out.posted = (await client.clientCredentialsGrant(posted)).scope;
  out.before = (await fetch(`${issuer}/orgs/${org}`, bearer(tokens.access_token))).status;
  const seen = await client.tokenIntrospection(platform, tokens.access_token);
  out.introspection = { active: seen.active, client_id: seen.client_id, scope: seen.scope, org_id: seen.org_id };
  await client.tokenRevocation(basic, tokens.access_token);
  out.after = (await fetch(`${issuer}/orgs/${org}`, bearer(tokens.access_token))).status;
  out.after_introspection = (await client.tokenIntrospection(platform, tokens.access_token)).active;
  const wrongConfig = await client.discovery(server, id, undefined, client.ClientSecretBasic(wrong), {
    ...insecure,
    algorithm: 'oauth2',
  });
  try {
    await client.clientCredentialsGrant(wrongConfig);
    out.wrong_secret = 'accepted';
  } catch (e) {
    // A 401 with a WWW-Authenticate challenge is thrown as the challenge; the RFC 6749 error is
    // in the response body.
    out.wrong_secret = e.error ?? (e.response ? (await e.response.json()).error : String(e));
    out.wrong_secret_challenge = e.response?.headers.get('www-authenticate') ?? null;
  }
} catch (e) {
  console.log(JSON.stringify({ refused: `${e.name}: ${e.message}`, error: e.error, cause: String(e.cause ?? '') }));
  process.exit(1);
}
console.log(JSON.stringify(out));
