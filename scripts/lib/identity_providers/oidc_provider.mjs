// An organization's identity provider for the SSO tests: panva's oidc-provider (the engine
// under Logto), unmodified, on a loopback port, signing ID tokens with RS256 and ES256 keys.
// People sign in on its own development login form (any login and password; the login is the
// `sub`). The test drives it through a small control API beside the provider:
//   PUT  /_test/accounts/{sub}  the claims that sub's tokens carry (email, email_verified, name)
//   POST /_test/rotate          new signing keys (the old ones are no longer published)
// Usage: node oidc_provider.mjs '<clients JSON>'   prints "READY <issuer>" once listening.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.JWT_VERIFIERS, 'package.json'));
const { default: Provider } = await import(require.resolve('oidc-provider'));
const jose = await import(require.resolve('jose'));

const clients = JSON.parse(process.argv[2] || '[]');
const accounts = new Map();
let generation = 0;

async function keys() {
  generation += 1;
  const out = [];
  for (const alg of ['RS256', 'ES256']) {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    const jwk = await jose.exportJWK(privateKey);
    out.push({ ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${generation}` });
  }
  return out;
}

async function provider(issuer) {
  const p = new Provider(issuer, {
    clients,
    jwks: { keys: await keys() },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, ...(accounts.get(sub) ?? {}) }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The claims the scopes ask for go into the ID token itself, as Okta and Entra send them.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // A first-party enterprise application: the IT admin consented for everyone.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    features: { devInteractions: { enabled: true } },
  });
  p.on('server_error', (ctx, err) => console.error('server_error', err));
  return p;
}

let current;
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname.startsWith('/_test/')) {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.method === 'PUT' && url.pathname.startsWith('/_test/accounts/')) {
      accounts.set(decodeURIComponent(url.pathname.slice('/_test/accounts/'.length)), JSON.parse(body || '{}'));
    } else if (req.method === 'POST' && url.pathname === '/_test/rotate') {
      current = await provider(current.issuer);
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(204).end();
    return;
  }
  current.callback()(req, res);
});
server.listen(0, '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  current = await provider(issuer);
  console.log(`READY ${issuer}`);
});
