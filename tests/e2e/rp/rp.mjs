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
// RP_ACR_VALUES, RP_ID_TOKEN_ALG and RP_CLAIMS (the `claims` parameter, JSON text, optional: with
// `verified_claims`, the answers' verified claims are checked against OpenID Identity Assurance). Each phase prints one JSON object on standard output; on
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

// What OpenID Identity Assurance 1.0 asks of a `verified_claims` answer, checked here without the
// provider's code: a verification with a trust framework, an ISO 8601 time, evidence each with a
// type (an electronic record naming its record type and source), and a non-empty claims object
// holding only claims that were asked inside `verified_claims`. Returns the problems found.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/
function verifiedClaimsProblems (answer, asked) {
  const problems = []
  const entries = Array.isArray(answer) ? answer : [answer]
  const wanted = new Set(Object.keys(asked?.claims || {}))
  for (const entry of entries) {
    if (!entry || typeof entry !== 'object') { problems.push('verified_claims is not an object'); continue }
    const { verification, claims } = entry
    if (!verification || typeof verification !== 'object') problems.push('no verification object')
    else {
      if (typeof verification.trust_framework !== 'string' || !verification.trust_framework) problems.push('no trust_framework')
      if (verification.time !== undefined && !ISO_TIME.test(verification.time)) problems.push(`time is not ISO 8601: ${verification.time}`)
      for (const evidence of verification.evidence || []) {
        if (typeof evidence.type !== 'string') problems.push('evidence without a type')
        if (evidence.type === 'electronic_record') {
          if (typeof evidence.record?.type !== 'string') problems.push('electronic_record without record.type')
          if (typeof evidence.record?.source?.name !== 'string') problems.push('electronic_record without record.source.name')
        }
        if (evidence.time !== undefined && !ISO_TIME.test(evidence.time)) problems.push(`evidence time is not ISO 8601: ${evidence.time}`)
      }
    }
    if (!claims || typeof claims !== 'object' || Object.keys(claims).length === 0) problems.push('no claims object')
    else {
      for (const name of Object.keys(claims)) if (!wanted.has(name)) problems.push(`claim not asked: ${name}`)
    }
  }
  return problems
}

function verifiedReport (answer, target) {
  const requested = process.env.RP_CLAIMS ? JSON.parse(process.env.RP_CLAIMS)[target]?.verified_claims : undefined
  if (requested === undefined) return undefined
  if (answer === undefined) return { present: false, problems: [] }
  return { present: true, problems: verifiedClaimsProblems(answer, requested) }
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
  if (process.env.RP_CLAIMS) parameters.claims = process.env.RP_CLAIMS
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
  result.verified_claims = {
    id_token: verifiedReport(claims.verified_claims, 'id_token'),
    userinfo: verifiedReport(userinfo.verified_claims, 'userinfo'),
  }

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
