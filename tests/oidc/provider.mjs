// A real OpenID Connect provider for the test suite, on loopback only.
//
//   node provider.mjs <port>     (0: any free port)
//
// Issuer http://127.0.0.1:<port>, one confidential client, one test user.
// Configured from the environment (all required):
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET  the client the site signs in with
//   OIDC_REDIRECT_URIS                  its callback URL(s), space separated
//   OIDC_TEST_EMAIL                     the email the provider vouches for (verified)
//
// Sign-in uses oidc-provider's development interactions: a login form that
// accepts any login (it becomes the subject, `sub`) and any password, then a
// consent page. PKCE is required, so a client that does not send it fails.
// Prints "OIDC provider ready at <issuer>" on stdout once it answers.
//
// https://github.com/panva/node-oidc-provider/tree/main/docs

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: set ${name}`);
    process.exit(2);
  }
  return value;
}

const port = Number.parseInt(process.argv[2] ?? process.env.OIDC_PORT ?? '', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: node provider.mjs <port>  (or set OIDC_PORT)');
  process.exit(2);
}
const host = '127.0.0.1';
const email = required('OIDC_TEST_EMAIL');
const client = {
  client_id: required('OIDC_CLIENT_ID'),
  client_secret: required('OIDC_CLIENT_SECRET'),
  redirect_uris: required('OIDC_REDIRECT_URIS').split(/\s+/).filter(Boolean),
  response_types: ['code'],
  grant_types: ['authorization_code'],
  // What django-allauth's openid_connect provider uses when the provider
  // offers it (it falls back to client_secret_basic otherwise).
  token_endpoint_auth_method: 'client_secret_post',
};

// A fresh signing key per run instead of the library's published development keys.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

const configuration = {
  clients: [client],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email,
          email_verified: true,
          name: 'Olive Dee',
          given_name: 'Olive',
          family_name: 'Dee',
          preferred_username: sub,
        };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
  },
  pkce: { required: () => true },
  // Tokens only need to outlive one test.
  ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 300, Session: 600, Grant: 600 },
};

// Listen first, so that port 0 can pick a free port and the issuer name it.
const server = createServer();
server.listen(port, host, () => {
  const issuer = `http://${host}:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  // Log failures to stderr; the test fixture shows them when a test fails.
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  for (const event of ['authorization.error', 'grant.error', 'userinfo.error']) {
    provider.on(event, (ctx, err) => console.error(event, err.message, err.error_description ?? ''));
  }
  server.on('request', provider.callback());
  console.log(`OIDC provider ready at ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
