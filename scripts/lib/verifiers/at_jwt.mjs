// RFC 9068 as oauth4webapi's validateJwtAccessToken reads it, no code of ours: the server's
// metadata (RFC 8414) gives the issuer and the JWKS, and each token (a JSON array of strings on
// stdin) must be a signed `at+jwt` with iss, exp, aud, sub, iat, jti and client_id. Prints one
// verdict per token as JSON: {ok, client_id, sub} or {ok: false, error}.
//
// usage: node at_jwt.mjs ISSUER AUDIENCE < tokens.json
import { createRequire } from 'node:module';
import { join } from 'node:path';

// The clients are installed in JWT_VERIFIERS (scripts/lib/verifiers.sh), not beside this file.
const require = createRequire(join(process.env.JWT_VERIFIERS, 'package.json'));
const oauth = await import(require.resolve('oauth4webapi'));

const [issuer, audience] = process.argv.slice(2);
const options = { [oauth.allowInsecureRequests]: true };
let input = '';
for await (const chunk of process.stdin) input += chunk;
const server = new URL(issuer);
const as = await oauth.processDiscoveryResponse(
  server,
  await oauth.discoveryRequest(server, { algorithm: 'oauth2', ...options }),
);
const verdicts = [];
for (const token of JSON.parse(input)) {
  const request = new Request(`${issuer}/`, { headers: { authorization: `Bearer ${token}` } });
  try {
    const claims = await oauth.validateJwtAccessToken(as, request, audience, options);
    verdicts.push({ ok: true, client_id: claims.client_id, sub: claims.sub });
  } catch (e) {
    verdicts.push({ ok: false, error: `${e.name}: ${e.message}` });
  }
}
console.log(JSON.stringify(verdicts));
