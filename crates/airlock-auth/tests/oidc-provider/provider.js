// node-oidc-provider configured for airlock-auth's interop tests. TEST ONLY: it signs
// every user in as `test-user` without a password.
//
// Start: `node provider.js` — listens on 127.0.0.1 with an ephemeral port and prints
// `ISSUER=https://127.0.0.1:<port>` on stdout once ready. TLS uses the certificate and
// key in the PEM files named by AIRLOCK_TEST_TLS_CERT and AIRLOCK_TEST_TLS_KEY (the test
// harness generates them); without them it serves plain http. Exits when stdin closes,
// so the test harness never leaves it behind.
//
// Interactions (login and consent) are handled by the test-only route
// `/test/interaction/:uid`, which completes them at once through the provider's own
// `interactionFinished` API (the browser still has to follow every redirect with its
// cookies). An authorization request with `login_hint=deny` is refused with
// `access_denied` there instead.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const ACCOUNT = 'test-user';

const clients = [
  {
    // A public device-flow client (an agent or CLI).
    client_id: 'device-public',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  },
  {
    // A confidential device-flow client using HTTP Basic.
    client_id: 'device-confidential',
    client_secret: 'device-confidential-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  },
  {
    // A confidential device-flow client using the form body.
    client_id: 'device-post',
    client_secret: 'device-post-secret',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  },
  {
    // Device codes of this client live one second (expired_token tests).
    client_id: 'device-short',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: [DEVICE_GRANT],
    response_types: [],
    redirect_uris: [],
  },
  {
    // A native app with a loopback redirect: any port is accepted (RFC 8252 §7.3).
    client_id: 'native-app',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
];

const configuration = {
  clients,
  findAccount: async (ctx, sub) => (sub === ACCOUNT
    ? {
      accountId: sub,
      claims: async () => ({
        sub, name: 'Test User', email: 'test@example.com', email_verified: true,
      }),
    }
    : undefined),
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
  },
  rotateRefreshToken: true,
  ttl: {
    DeviceCode: (ctx, code, client) => (client.clientId === 'device-short' ? 1 : 600),
  },
  interactions: {
    url: async (ctx, interaction) => `/test/interaction/${interaction.uid}`,
  },
  cookies: { keys: ['airlock-auth-interop-tests-only'] },
};

async function finishInteraction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  let result;
  if (params.login_hint === 'deny') {
    result = { error: 'access_denied', error_description: 'The test user refused' };
  } else if (prompt.name === 'login') {
    result = { login: { accountId: ACCOUNT } };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    throw new Error(`unexpected prompt ${prompt.name}`);
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

const { AIRLOCK_TEST_TLS_CERT: certFile, AIRLOCK_TEST_TLS_KEY: keyFile } = process.env;
const tls = Boolean(certFile && keyFile);
const server = tls
  ? https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) })
  : http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'GET' && req.url.startsWith('/test/interaction/')) {
      finishInteraction(provider, req, res).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    callback(req, res);
  });
  process.stdout.write(`ISSUER=${issuer}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
