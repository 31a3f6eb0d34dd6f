// frontend-platform's configuration: keys fixed at build time (`.env`, vite.config.mts), then the
// LMS's MFE config API at run time when MFE_CONFIG_API_URL is set (Tutor's MFE plugin sets it).
declare const process: { env: Record<string, string> };

export interface Config {
  APP_ID: string;
  SITE_NAME: string;
  BASE_URL: string;
  PUBLIC_PATH: string;
  LMS_BASE_URL: string;
  LOGIN_URL: string;
  LOGOUT_URL: string;
  REFRESH_ACCESS_TOKEN_ENDPOINT: string;
  ACCESS_TOKEN_COOKIE_NAME: string;
  CSRF_TOKEN_API_PATH: string;
  /** Where groups-service's API is (its `/api/user-groups/v1`); empty: this page's origin. */
  USER_GROUPS_API_BASE_URL: string;
  /** Where legacy-sync-service's operator API is (its `/api/legacy-sync/v1`); empty: this page's origin. */
  LEGACY_SYNC_API_BASE_URL: string;
  MFE_CONFIG_API_URL: string;
}

let config: Config = {
  APP_ID: process.env.APP_ID || 'user-groups',
  SITE_NAME: process.env.SITE_NAME || 'Open edX',
  BASE_URL: process.env.BASE_URL,
  PUBLIC_PATH: process.env.PUBLIC_PATH || '/',
  LMS_BASE_URL: process.env.LMS_BASE_URL,
  LOGIN_URL: process.env.LOGIN_URL || '/login',
  LOGOUT_URL: process.env.LOGOUT_URL || '/logout',
  REFRESH_ACCESS_TOKEN_ENDPOINT: process.env.REFRESH_ACCESS_TOKEN_ENDPOINT || '/login_refresh',
  ACCESS_TOKEN_COOKIE_NAME: process.env.ACCESS_TOKEN_COOKIE_NAME || 'edx-jwt-cookie-header-payload',
  CSRF_TOKEN_API_PATH: process.env.CSRF_TOKEN_API_PATH || '/csrf/api/v1/token',
  USER_GROUPS_API_BASE_URL: process.env.USER_GROUPS_API_BASE_URL,
  LEGACY_SYNC_API_BASE_URL: process.env.LEGACY_SYNC_API_BASE_URL,
  MFE_CONFIG_API_URL: process.env.MFE_CONFIG_API_URL,
};

export const getConfig = (): Config => config;

/** Merges the LMS's MFE_CONFIG for this app; a failure keeps the build's values, as frontend-platform does. */
export async function loadRuntimeConfig(): Promise<void> {
  if (!config.MFE_CONFIG_API_URL) return;
  try {
    const response = await fetch(`${config.MFE_CONFIG_API_URL}?mfe=${encodeURIComponent(config.APP_ID)}`, {
      credentials: 'include',
      headers: { accept: 'application/json' },
    });
    if (response.ok) {
      const runtime = (await response.json()) as Record<string, unknown>;
      const known = Object.fromEntries(
        Object.entries(runtime).filter(([key, value]) => key in config && typeof value === 'string'),
      );
      config = { ...config, ...known };
    }
  } catch (error) {
    console.error('the MFE config API did not answer; using the build configuration', error);
  }
}
