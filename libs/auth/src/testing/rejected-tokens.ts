import { createHmac } from 'node:crypto';
import { courseStaffClaims, globalStaffClaims, lmsUserClaims, serviceClaims } from './lms-claims';
import { TokenMinter } from './token-minter';

const base64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT put together by hand: what an attacker sends, with a signature of its choosing. */
function handMade(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  sign: (input: string) => string,
): string {
  const input = `${base64url(header)}.${base64url(claims)}`;
  return `${input}.${sign(input)}`;
}

/**
 * Tokens every protected endpoint must answer 401 to. Each carries global staff's claims, so a
 * verifier that let one through would let it do anything: the test sees the change.
 */
export async function rejectedTokens(minter: TokenMinter): Promise<Array<{ problem: string; token: string | null }>> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { ...globalStaffClaims(), iss: minter.issuer, aud: minter.audience, iat: now - 10, exp: now + 300 };
  const another = await TokenMinter.create({
    issuer: minter.issuer,
    audience: minter.audience,
    kid: minter.publicJwk.kid,
  });
  return [
    { problem: 'no token', token: null },
    { problem: 'expired', token: await minter.mint(globalStaffClaims(), { expiresIn: -600 }) },
    { problem: 'without an expiry', token: await minter.mint(globalStaffClaims(), { expiresIn: null }) },
    {
      problem: 'wrong issuer',
      token: await minter.mint(globalStaffClaims(), { issuer: 'https://lms.attacker.example/oauth2' }),
    },
    { problem: 'wrong audience', token: await minter.mint(globalStaffClaims(), { audience: 'another-service' }) },
    { problem: 'alg none', token: handMade({ alg: 'none', typ: 'JWT' }, claims, () => '') },
    // The classic key confusion: the RSA public key (which anyone can fetch) used as an HMAC secret.
    {
      problem: 'HS256 signed with the public key',
      token: handMade({ alg: 'HS256', typ: 'JWT', kid: minter.publicJwk.kid }, claims, (input) =>
        createHmac('sha256', minter.publicKeyPem).update(input).digest('base64url'),
      ),
    },
    { problem: 'signed by another key under the same kid', token: await another.mint(globalStaffClaims()) },
  ];
}

/**
 * Valid tokens of callers who may not touch groups outside `foreignCourse` / `foreignOrg`: a learner,
 * staff of another course, a restricted application of another organization (both scopes), and a
 * service client that may only read.
 */
export async function outsiderTokens(minter: TokenMinter, others: { foreignCourse: string; foreignOrg: string }) {
  return {
    learner: await minter.mint(lmsUserClaims()),
    'staff of another course': await minter.mint(courseStaffClaims(others.foreignCourse)),
    'restricted application of another org': await minter.mint(
      serviceClaims(['user_groups:read', 'user_groups:write'], {
        is_restricted: true,
        filters: [`content_org:${others.foreignOrg}`],
      }),
    ),
    // Not a SERVICE_USERS entry: read access by the optional user_groups:read scope only.
    'read-only service client': await minter.mint(
      serviceClaims(['user_groups:read'], { preferred_username: 'reporting_worker' }),
    ),
  };
}
