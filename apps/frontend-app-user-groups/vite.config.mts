import { defineConfig, loadEnv } from 'vite';
import react from '@vitejs/plugin-react';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

// frontend-build's convention: the configuration keys come from `.env` (and the environment,
// which wins) as `process.env.<KEY>`, fixed at build time.
const KEYS = [
  'APP_ID',
  'SITE_NAME',
  'BASE_URL',
  'PUBLIC_PATH',
  'LMS_BASE_URL',
  'LOGIN_URL',
  'LOGOUT_URL',
  'REFRESH_ACCESS_TOKEN_ENDPOINT',
  'ACCESS_TOKEN_COOKIE_NAME',
  'CSRF_TOKEN_API_PATH',
  'USER_GROUPS_API_BASE_URL',
  'LEGACY_SYNC_API_BASE_URL',
  'MFE_CONFIG_API_URL',
];

export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, root, ''), ...process.env };
  return {
    root,
    base: env.PUBLIC_PATH || '/',
    plugins: [react()],
    define: Object.fromEntries(KEYS.map((key) => [`process.env.${key}`, JSON.stringify(env[key] ?? '')])),
    build: {
      // Tutor's MFE plugin takes a build from dist/ at the repository's root (USER_GROUPS_PAGE_OUT_DIR).
      outDir: env.USER_GROUPS_PAGE_OUT_DIR || join(root, '../../dist/apps/frontend-app-user-groups'),
      emptyOutDir: true,
      chunkSizeWarningLimit: 2000,
      // Paragon's CSS has media queries over custom properties, which lightningcss refuses; it ships minified.
      cssMinify: false,
    },
    logLevel: 'warn',
  };
});
