// Verifies an access token as a customer's Node service would: discovery from the issuer, then
// jose's createRemoteJWKSet on the jwks_uri it names. Prints the claims; exits 1 if refused.
//
// usage: JWT_VERIFIERS=.local/verifiers node verify.mjs ISSUER AUDIENCE TOKEN
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.JWT_VERIFIERS, "package.json"));
const { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } = await import(require.resolve("jose"));

const [issuer, audience, token] = process.argv.slice(2);
const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
if (discovery.issuer !== issuer) {
  console.log(`discovery names issuer ${discovery.issuer}, not ${issuer}`);
  process.exit(1);
}
try {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer,
    audience,
    algorithms: discovery.access_token_signing_alg_values_supported,
    typ: "at+jwt",
    requiredClaims: ["exp", "iat", "sub"],
  });
  console.log(JSON.stringify({ alg: decodeProtectedHeader(token).alg, claims: payload }));
} catch (e) {
  console.log(`refused: ${e.code ?? e.name}: ${e.message}`);
  process.exit(1);
}
