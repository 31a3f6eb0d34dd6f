import { Container, Nav } from '@openedx/paragon';
import { useIntl } from 'react-intl';
import { useEffect } from 'react';
import { Link, NavLink, Route, Routes, useLocation } from 'react-router-dom';
import type { AuthenticatedUser } from './auth';
import { logoutUrl } from './auth';
import { getConfig } from './config';
import messages from './messages';
import { CoursePage } from './pages/CoursePage';
import { GroupPage } from './pages/GroupPage';
import { HomePage } from './pages/HomePage';
import { OperatorPage } from './pages/OperatorPage';

/**
 * A new view is announced as a page load would be: its title, and focus on its heading once it
 * shows (screen readers otherwise stay where the link was).
 */
function useViewAnnouncement(site: string) {
  const { pathname } = useLocation();
  useEffect(() => {
    let tries = 0;
    const timer = setInterval(() => {
      const heading = document.querySelector<HTMLElement>('main h1');
      if (heading || ++tries > 50) {
        clearInterval(timer);
        if (!heading) return;
        document.title = `${heading.textContent} | ${site}`;
        heading.tabIndex = -1;
        heading.focus({ preventScroll: true });
      }
    }, 100);
    return () => clearInterval(timer);
  }, [pathname, site]);
}

export function App({ user }: { user: AuthenticatedUser }) {
  const intl = useIntl();
  useViewAnnouncement(intl.formatMessage(messages.appTitle, { site: getConfig().SITE_NAME }));
  return (
    <>
      <header className="border-bottom bg-white">
        <Container size="xl" className="d-flex align-items-center py-2">
          <Link to="/" className="h4 mb-0 mr-4 text-dark">
            {intl.formatMessage(messages.appTitle, { site: getConfig().SITE_NAME })}
          </Link>
          <Nav as="nav" aria-label={intl.formatMessage(messages.mainNavigation)} className="mr-auto">
            <Nav.Link as={NavLink} to="/" end>
              {intl.formatMessage(messages.navHome)}
            </Nav.Link>
            {user.administrator && (
              <Nav.Link as={NavLink} to="/operator">
                {intl.formatMessage(messages.navOperator)}
              </Nav.Link>
            )}
          </Nav>
          <span className="mr-3" data-testid="signed-in-user">
            {user.username}
          </span>
          <a href={logoutUrl()}>{intl.formatMessage(messages.signOut)}</a>
        </Container>
      </header>
      <main>
        <Container size="xl" className="ug-page">
          <Routes>
            <Route path="/" element={<HomePage user={user} />} />
            <Route path="/courses/:courseKey" element={<CoursePage user={user} />} />
            <Route path="/groups/:groupId" element={<GroupPage />} />
            <Route path="/operator" element={<OperatorPage />} />
            <Route path="*" element={<p>{intl.formatMessage(messages.notFound)}</p>} />
          </Routes>
        </Container>
      </main>
    </>
  );
}
