import '@openedx/paragon/dist/core.min.css';
import '@openedx/paragon/dist/light.min.css';
import './index.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { IntlProvider } from 'react-intl';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import { ensureAuthenticatedUser } from './auth';
import { getConfig, loadRuntimeConfig } from './config';
import messages from './i18n';

// frontend-platform's start: configuration, then the signed-in user (or the LMS's sign-in), then the app.
async function start() {
  await loadRuntimeConfig();
  const user = await ensureAuthenticatedUser();
  const locale = navigator.language?.split('-')[0] ?? 'en';
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <IntlProvider locale={locale} defaultLocale="en" messages={messages[locale] ?? {}}>
        <BrowserRouter basename={getConfig().PUBLIC_PATH.replace(/\/$/, '')}>
          <App user={user} />
        </BrowserRouter>
      </IntlProvider>
    </StrictMode>,
  );
}

start().catch((error: Error) => {
  if (error.message === 'redirecting to sign in') return;
  document.getElementById('root')!.textContent = `The page could not start: ${error.message}`;
});
