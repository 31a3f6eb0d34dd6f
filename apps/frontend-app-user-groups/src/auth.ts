import { getConfig } from './config';

/** The signed-in user, from the claims of the LMS's JWT cookie (frontend-platform's reading). */
export interface AuthenticatedUser {
  userId: number;
  username: string;
  administrator: boolean;
  email?: string;
  name?: string;
}

interface Claims {
  user_id?: number;
  preferred_username?: string;
  administrator?: boolean;
  email?: string;
  name?: string;
  exp?: number;
}

function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

/** The payload of `header.payload` (the cookie scripts may read; the signature cookie is HttpOnly). */
export function decodeHeaderPayload(value: string | undefined): Claims | null {
  const payload = value?.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(base64), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    );
    return JSON.parse(json) as Claims;
  } catch {
    return null;
  }
}

const currentClaims = () => {
  const claims = decodeHeaderPayload(readCookie(getConfig().ACCESS_TOKEN_COOKIE_NAME));
  return claims && claims.exp !== undefined && claims.exp > Date.now() / 1000 ? claims : null;
};

let refreshing: Promise<void> | null = null;

/** POST to the LMS's login_refresh for fresh JWT cookies; a 401 means nobody is signed in. */
function refresh(): Promise<void> {
  refreshing ??= (async () => {
    try {
      const response = await fetch(getConfig().REFRESH_ACCESS_TOKEN_ENDPOINT, {
        method: 'POST',
        credentials: 'include',
      });
      if (!response.ok && response.status !== 401)
        throw new Error(`the LMS did not refresh the sign-in (${response.status})`);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function getAuthenticatedUser(): Promise<AuthenticatedUser | null> {
  let claims = currentClaims();
  if (!claims) {
    await refresh();
    claims = currentClaims();
  }
  if (!claims || typeof claims.user_id !== 'number' || !claims.preferred_username) return null;
  return {
    userId: claims.user_id,
    username: claims.preferred_username,
    administrator: claims.administrator === true,
    email: claims.email,
    name: claims.name,
  };
}

const LOGIN_SENT_AT = 'user-groups:login-sent-at';

/**
 * To the LMS's sign-in, back here after. Never in a loop: if it sent us back less than a minute ago
 * and there is still no JWT cookie, the page says so instead (the referrer cannot tell: browsers
 * cut it to an origin across sites).
 */
export function redirectToLogin(next = window.location.href): never {
  const sent = Number(window.sessionStorage.getItem(LOGIN_SENT_AT) ?? 0);
  if (Date.now() - sent < 60_000) {
    window.sessionStorage.removeItem(LOGIN_SENT_AT);
    throw new Error('signed in, but the LMS gave no JWT cookie for this page');
  }
  window.sessionStorage.setItem(LOGIN_SENT_AT, String(Date.now()));
  const login = new URL(getConfig().LOGIN_URL, window.location.href);
  window.location.assign(`${login.href}?next=${encodeURIComponent(next)}`);
  throw new Error('redirecting to sign in');
}

export function logoutUrl(): string {
  return `${getConfig().LOGOUT_URL}?redirect_url=${encodeURIComponent(window.location.href)}`;
}

export async function ensureAuthenticatedUser(): Promise<AuthenticatedUser> {
  const user = (await getAuthenticatedUser()) ?? redirectToLogin();
  window.sessionStorage.removeItem(LOGIN_SENT_AT);
  return user;
}
