import { Alert, Button, Card, Form, Spinner } from '@openedx/paragon';
import { FormEvent, useState } from 'react';
import { useIntl } from 'react-intl';
import { Link, useNavigate } from 'react-router-dom';
import { call, Me } from '../api';
import type { AuthenticatedUser } from '../auth';
import { useLoad } from '../hooks';
import messages from '../messages';
import { PageHeading } from '../components/PageHeading';

interface MyGroup {
  id: string;
  name: string;
  scope_type: string;
  scope_key: string;
}

export const coursePath = (courseKey: string) => `/courses/${encodeURIComponent(courseKey)}`;

export function HomePage({ user }: { user: AuthenticatedUser }) {
  const intl = useIntl();
  const navigate = useNavigate();
  const [courseKey, setCourseKey] = useState('');
  const me = useLoad(() => call<Me>('groups', '/me'), []);
  const mine = useLoad(() => call<{ results: MyGroup[] }>('groups', `/users/${user.userId}/groups`), [user.userId]);
  const staff = !!me.data && (me.data.administrator || me.data.staff_courses.length > 0);
  const open = (e: FormEvent) => {
    e.preventDefault();
    if (courseKey.trim()) navigate(coursePath(courseKey.trim()));
  };
  return (
    <>
      <PageHeading className="h2 mb-4" title={intl.formatMessage(messages.homeHeading)} />
      {me.loading && <Spinner animation="border" screenReaderText={intl.formatMessage(messages.loading)} />}
      {staff && (
        <Card className="mb-4">
          <Card.Section>
            <h2 className="h4">{intl.formatMessage(messages.yourCourses)}</h2>
            {me.data!.staff_courses.length > 0 ? (
              <ul data-testid="staff-courses">
                {me.data!.staff_courses.map((key) => (
                  <li key={key}>
                    <Link to={coursePath(key)}>{key}</Link>
                  </li>
                ))}
              </ul>
            ) : (
              <p>{intl.formatMessage(messages.noStaffCourses)}</p>
            )}
            <Form onSubmit={open} className="d-flex align-items-end">
              <Form.Group controlId="course-key" className="mb-0 mr-2 flex-grow-1">
                <Form.Label>{intl.formatMessage(messages.courseKeyLabel)}</Form.Label>
                <Form.Control
                  value={courseKey}
                  onChange={(e: React.ChangeEvent<HTMLInputElement>) => setCourseKey(e.target.value)}
                  placeholder="course-v1:Org+Course+Run"
                />
              </Form.Group>
              <Button type="submit">{intl.formatMessage(messages.openCourse)}</Button>
            </Form>
          </Card.Section>
        </Card>
      )}
      <h2 className="h4">{intl.formatMessage(messages.yourGroups)}</h2>
      {mine.error && <Alert variant="danger">{mine.error.message}</Alert>}
      {mine.data && mine.data.results.length === 0 && <p>{intl.formatMessage(messages.inNoGroups)}</p>}
      {mine.data && mine.data.results.length > 0 && (
        <ul data-testid="my-groups">
          {mine.data.results.map((g) => (
            <li key={g.id}>
              {g.name} <span className="text-muted">({g.scope_key || g.scope_type})</span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
