// A real OpenID provider on loopback for the tests of ideo's token verifier: the npm package
// `oidc-provider` (a certified OpenID Connect implementation), issuing JWT access tokens by the
// client credentials grant. Not a test file itself (node --test does not pick it up): the C++ tests
// start it, read "listening on http://127.0.0.1:PORT" and stop it with SIGTERM.
//
//   node oidc_provider.mjs [--port N]      (0, the default: any free port; the issuer is http://127.0.0.1:PORT)
//
// Every start makes new signing keys (one RSA, one EC P-256, random kids): restarting it on the same
// port is a key rotation. The test clients (secret: "secret-" + client id), one per role:
//   member-90010  roles [member]     insee [90010, 90011]   org "Belfort"
//   sdis-90       roles sdis         dept 90                 org "SDIS 90"
//   ars-bfc       roles [ars]        dept [21, 90]           org "ARS BFC"
//   admin-portal  roles [admin, member]                      org "Portail"
//   norole        no roles claim
// Resources (POST /token with resource=...): urn:ideo:rs256 and urn:ideo:es256 (audience "ideo",
// signed RS256 or ES256), urn:ideo:hs256 (audience "ideo", HS256 with a shared secret: a provider
// that ideo must refuse) and urn:other:rs256 (audience "other-api"). Access tokens live 600 s.
//
// POST /test/sign {"alg": "RS256"|"ES256"|"HS256-public-key"|"none", "header": {...}, "claims": {...}}
// signs any claims with the provider's own keys (or forges the classic attacks: "none", and HS256
// keyed with the RSA public key's PEM), so a test can check the claims one at a time.
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const argv = process.argv.slice(2);
const portArg = argv.indexOf('--port');
const wantedPort = portArg >= 0 ? Number(argv[portArg + 1]) : 0;

function signingKey(type, options, alg) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync(type, options);
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `${alg.toLowerCase()}-${crypto.randomUUID()}`, use: 'sig', alg };
  return { privateKey, publicKey, jwk };
}
const rsa = signingKey('rsa', { modulusLength: 2048 }, 'RS256');
const ec = signingKey('ec', { namedCurve: 'P-256' }, 'ES256');

const people = {
  'member-90010': { roles: ['member'], insee: ['90010', '90011'], org: 'Belfort' },
  'sdis-90': { roles: 'sdis', dept: '90', org: 'SDIS 90' },
  'ars-bfc': { roles: ['ars'], dept: ['21', '90'], org: 'ARS BFC' },
  'admin-portal': { roles: ['admin', 'member'], org: 'Portail' },
  norole: { org: 'Nobody' },
};

const resources = {
  'urn:ideo:rs256': { audience: 'ideo', jwt: { sign: { alg: 'RS256' } } },
  'urn:ideo:es256': { audience: 'ideo', jwt: { sign: { alg: 'ES256' } } },
  'urn:ideo:hs256': { audience: 'ideo', jwt: { sign: { alg: 'HS256', key: crypto.randomBytes(32) } } },
  'urn:other:rs256': { audience: 'other-api', jwt: { sign: { alg: 'RS256' } } },
};

const b64url = (data) => Buffer.from(data).toString('base64url');

// The test forger: a JWS over any header and claims.
function sign({ alg, header = {}, claims = {} }) {
  const kid = alg === 'ES256' ? ec.jwk.kid : rsa.jwk.kid;
  const jwsAlg = alg === 'HS256-public-key' ? 'HS256' : alg;
  const input = `${b64url(JSON.stringify({ alg: jwsAlg, typ: 'at+jwt', kid, ...header }))}.${b64url(JSON.stringify(claims))}`;
  let signature;
  if (alg === 'RS256') signature = crypto.sign('sha256', Buffer.from(input), rsa.privateKey);
  else if (alg === 'ES256') signature = crypto.sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'HS256-public-key') signature = crypto.createHmac('sha256', rsa.publicKey.export({ type: 'spki', format: 'pem' })).update(input).digest();
  else if (alg === 'none') signature = Buffer.alloc(0);
  else throw new Error(`unknown alg ${alg}`);
  return `${input}.${b64url(signature)}`;
}

const server = http.createServer();
server.listen(wantedPort, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: Object.keys(people).map((id) => ({
      client_id: id,
      client_secret: `secret-${id}`,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'api',
    })),
    jwks: { keys: [rsa.jwk, ec.jwk] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    scopes: ['openid', 'api'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:ideo:rs256',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          const r = resources[indicator];
          if (!r) throw new Provider.errors.InvalidTarget(`unknown resource ${indicator}`);
          return { scope: 'api', accessTokenFormat: 'jwt', accessTokenTTL: 600, ...r };
        },
      },
    },
    extraTokenClaims: (ctx, token) => {
      const { org, ...claims } = people[token.clientId] ?? {};
      return { ...claims, org };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url === '/test/sign') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        try {
          const token = sign(JSON.parse(body));
          res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
        } catch (e) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(String(e));
        }
      });
      return;
    }
    callback(req, res);
  });
  console.log(`listening on ${issuer} (kids ${rsa.jwk.kid} ${ec.jwk.kid})`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
