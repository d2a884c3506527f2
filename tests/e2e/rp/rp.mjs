// An independent relying party (openid-client, OpenID Certified RP library) driven by
// tests/e2e/test_interop_openid_client.py, in two phases because a person has to log in between them:
//
//   node rp.mjs authorize STATE_FILE           discovery, then the authorization URL (PKCE S256,
//                                              state, nonce); keeps the verifier, state and nonce
//   node rp.mjs callback STATE_FILE CALLBACK   code exchange with ID token validation (signature
//                                              against the published JWKS), userinfo, refresh,
//                                              revocation, and a refresh after revocation
//
// Settings come from RP_ISSUER, RP_CLIENT_ID, RP_CLIENT_SECRET, RP_REDIRECT_URI, RP_SCOPE,
// RP_ACR_VALUES and RP_ID_TOKEN_ALG. Each phase prints one JSON object on standard output; on
// failure it prints {"failed": ...} with what the library complained about and exits 1.
// Tokens are never printed: only claims and facts about them.

import { readFile, writeFile } from 'node:fs/promises'
import * as client from 'openid-client'

const env = (name) => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

async function discover () {
  // The issuer is http://127.0.0.1 in the test: openid-client refuses plain HTTP unless told,
  // and enableNonRepudiationChecks makes it verify ID token signatures against jwks_uri even
  // though the token comes straight from the token endpoint.
  return client.discovery(
    new URL(env('RP_ISSUER')),
    env('RP_CLIENT_ID'),
    { id_token_signed_response_alg: process.env.RP_ID_TOKEN_ALG || 'ES256' },
    client.ClientSecretBasic(env('RP_CLIENT_SECRET')),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  )
}

function jwtHeader (jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'))
}

async function authorize (stateFile) {
  const config = await discover()
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const parameters = {
    redirect_uri: env('RP_REDIRECT_URI'),
    scope: env('RP_SCOPE'),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  }
  if (process.env.RP_ACR_VALUES) parameters.acr_values = process.env.RP_ACR_VALUES
  const url = client.buildAuthorizationUrl(config, parameters)
  await writeFile(stateFile, JSON.stringify({ verifier, state, nonce }), { mode: 0o600 })
  const metadata = config.serverMetadata()
  return {
    authorization_url: url.href,
    state,
    nonce,
    issuer: metadata.issuer,
    endpoints: {
      authorization: metadata.authorization_endpoint,
      token: metadata.token_endpoint,
      userinfo: metadata.userinfo_endpoint,
      jwks: metadata.jwks_uri,
      revocation: metadata.revocation_endpoint,
    },
  }
}

async function callback (stateFile, callbackUrl) {
  const saved = JSON.parse(await readFile(stateFile, 'utf8'))
  const config = await discover()
  const result = {}

  // Validates the authorization response (state, iss per RFC 9207), redeems the code with the
  // PKCE verifier, and validates the ID token: signature, iss, aud, exp, iat, nonce.
  const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: saved.verifier,
    expectedState: saved.state,
    expectedNonce: saved.nonce,
    idTokenExpected: true,
  })
  const claims = tokens.claims()
  // The key set the library fetched from jwks_uri to verify the ID token's signature: proof
  // that the check ran, since it is only fetched for signature validation.
  const verifiedWith = client.getJwksCache(config)
  result.token = {
    token_type: tokens.token_type,
    scope: tokens.scope,
    expires_in: tokens.expiresIn(),
    has_refresh_token: Boolean(tokens.refresh_token),
    id_token_header: jwtHeader(tokens.id_token),
    id_token_claims: claims,
    verified_with_kids: verifiedWith ? verifiedWith.jwks.keys.map((key) => key.kid) : [],
  }

  // UserInfo: the library checks that its sub is the ID token's.
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  result.userinfo = userinfo

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  result.refresh = {
    has_access_token: Boolean(refreshed.access_token),
    new_access_token: refreshed.access_token !== tokens.access_token,
    has_refresh_token: Boolean(refreshed.refresh_token),
    new_refresh_token: Boolean(refreshed.refresh_token) && refreshed.refresh_token !== tokens.refresh_token,
    id_token_claims: refreshed.id_token ? refreshed.claims() : null,
  }
  const current = refreshed.refresh_token || tokens.refresh_token

  await client.tokenRevocation(config, current, { token_type_hint: 'refresh_token' })
  result.revocation = { ok: true }

  try {
    await client.refreshTokenGrant(config, current)
    result.after_revocation = { refreshed: true }
  } catch (error) {
    result.after_revocation = { refreshed: false, ...describe(error) }
  }
  return result
}

function describe (error) {
  return {
    name: error.name,
    message: error.message,
    code: error.code,
    error: error.error,
    error_description: error.error_description,
    status: error.status,
    cause: error.cause instanceof Error ? error.cause.message : error.cause,
  }
}

const [phase, stateFile, callbackUrl] = process.argv.slice(2)
try {
  let output
  if (phase === 'authorize' && stateFile) output = await authorize(stateFile)
  else if (phase === 'callback' && stateFile && callbackUrl) output = await callback(stateFile, callbackUrl)
  else throw new Error('usage: node rp.mjs authorize STATE_FILE | callback STATE_FILE CALLBACK_URL')
  process.stdout.write(JSON.stringify(output) + '\n')
} catch (error) {
  process.stdout.write(JSON.stringify({ failed: describe(error) }) + '\n')
  process.exitCode = 1
}
