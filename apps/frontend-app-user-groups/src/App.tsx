import { Container, Nav } from '@openedx/paragon';
import { useIntl } from 'react-intl';
import { Link, NavLink, Route, Routes } from 'react-router-dom';
import type { AuthenticatedUser } from './auth';
import { logoutUrl } from './auth';
import { getConfig } from './config';
import messages from './messages';
import { CoursePage } from './pages/CoursePage';
import { GroupPage } from './pages/GroupPage';
import { HomePage } from './pages/HomePage';
import { OperatorPage } from './pages/OperatorPage';

export function App({ user }: { user: AuthenticatedUser }) {
  const intl = useIntl();
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
