// panva's oidc-provider configured like idsvc's token endpoint, for bench/bench_oidc.py:
// client_credentials, one confidential client (client_secret_basic), an ES256 signing key,
// JWT access tokens (RFC 9068) for one resource server, 600 s lifetime.
//
//   PORT=3000 PROCESSES=2 CLIENT_ID=bench-machine CLIENT_SECRET=... node provider.mjs
//
// PROCESSES > 1 forks that many workers with node:cluster; they share the port and the key,
// which the primary generates so that every worker signs with the same kid.
// JWT access tokens are not stored by oidc-provider (only opaque ones reach the adapter), so
// this provider writes nothing per token; idsvc stores a token row and an audit event.

import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const processes = Number(process.env.PROCESSES || 1);
const issuer = process.env.ISSUER || 'https://op.bench.invalid';
const clientId = process.env.CLIENT_ID || 'bench-machine';
const clientSecret = process.env.CLIENT_SECRET;
const scope = process.env.SCOPE || 'registry.verify';
const resource = process.env.RESOURCE || 'https://api.bench.invalid/';

if (!clientSecret) {
  console.error('CLIENT_SECRET is required');
  process.exit(2);
}

function signingJwk() {
  if (process.env.SIGNING_JWK) return JSON.parse(process.env.SIGNING_JWK);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'es256-bench', alg: 'ES256', use: 'sig' };
}

function serve(jwk) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope,
    }],
    jwks: { keys: [jwk] },
    scopes: [scope],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope,
            audience: resource,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
  });
  createServer(provider.callback()).listen(port, '127.0.0.1', () => {
    console.log(`oidc-provider pid ${process.pid} on http://127.0.0.1:${port}`);
  });
}

if (processes > 1 && cluster.isPrimary) {
  const jwk = JSON.stringify(signingJwk());
  for (let i = 0; i < processes; i += 1) cluster.fork({ SIGNING_JWK: jwk });
  cluster.on('exit', (worker, code) => {
    console.error(`worker ${worker.process.pid} exited (${code})`);
    process.exit(1);
  });
} else {
  serve(signingJwk());
}
