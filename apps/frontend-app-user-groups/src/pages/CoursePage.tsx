import { Alert, Badge, Button, Form, Spinner, useToggle } from '@openedx/paragon';
import { useState } from 'react';
import { useIntl } from 'react-intl';
import { Link, useParams } from 'react-router-dom';
import { call, Group, Me, Page } from '../api';
import type { AuthenticatedUser } from '../auth';
import { PageNav } from '../components/PageNav';
import { ServerSearch } from '../components/ServerSearch';
import { kindLabel } from '../components/labels';
import { legacyLinkText } from '../components/legacy';
import { useLoad } from '../hooks';
import messages from '../messages';
import { ColumnHeads } from '../components/ColumnHeads';
import { PageHeading } from '../components/PageHeading';
import { CreateGroupDialog } from './CreateGroupDialog';

type ListedGroup = Group & { sync?: { pending: number; rejected: number } };
const PAGE_SIZE = 20;
const LIVE_MS = 3000;

export function CoursePage({ user }: { user: AuthenticatedUser }) {
  const intl = useIntl();
  const courseKey = useParams().courseKey!;
  const [name, setName] = useState('');
  const [kind, setKind] = useState('');
  const [page, setPage] = useState(1);
  const [creating, openCreate, closeCreate] = useToggle(false);
  const me = useLoad(() => call<Me>('groups', '/me', { query: { course_key: courseKey } }), [courseKey]);
  const mayRead = !!me.data?.course?.may_read;
  const groups = useLoad(
    () =>
      mayRead
        ? call<Page<ListedGroup>>('groups', '/groups', {
            query: { scope_type: 'course', scope_key: courseKey, name, kind, page, page_size: PAGE_SIZE },
          })
        : Promise.resolve(undefined),
    [courseKey, name, kind, page, mayRead],
    LIVE_MS,
  );
  const own = useLoad(
    () =>
      me.data && !mayRead
        ? call<{ results: Group[] }>('groups', `/users/${user.userId}/groups`, {
            query: { scope: 'course', scope_key: courseKey },
          })
        : Promise.resolve(undefined),
    [courseKey, me.data, mayRead],
  );

  if (me.loading) return <Spinner animation="border" screenReaderText={intl.formatMessage(messages.loading)} />;
  if (me.error) return <Alert variant="danger">{me.error.message}</Alert>;
  return (
    <>
      <PageHeading title={intl.formatMessage(messages.courseHeading)} />
      <p className="ug-mono">{courseKey}</p>
      {!mayRead && (
        <>
          <Alert variant="warning" data-testid="not-course-staff">
            {intl.formatMessage(messages.notCourseStaff)}
          </Alert>
          <h2 className="h4">{intl.formatMessage(messages.yourGroupsInCourse)}</h2>
          <ul data-testid="my-course-groups">
            {(own.data?.results ?? []).map((g) => (
              <li key={g.id}>{g.name}</li>
            ))}
          </ul>
        </>
      )}
      {mayRead && (
        <>
          <div className="d-flex flex-wrap align-items-end mb-3">
            <ServerSearch
              label={intl.formatMessage(messages.searchGroups)}
              placeholder={intl.formatMessage(messages.searchGroupsPlaceholder)}
              onSearch={(text) => {
                setName(text);
                setPage(1);
              }}
            />
            <Form.Group controlId="kind-filter" className="mr-3 mb-2">
              <Form.Label>{intl.formatMessage(messages.kind)}</Form.Label>
              <Form.Control
                as="select"
                value={kind}
                onChange={(e: React.ChangeEvent<HTMLSelectElement>) => {
                  setKind(e.target.value);
                  setPage(1);
                }}
              >
                <option value="">{intl.formatMessage(messages.anyKind)}</option>
                <option value="manual">{intl.formatMessage(messages.kindManual)}</option>
                <option value="dynamic">{intl.formatMessage(messages.kindDynamic)}</option>
                <option value="legacy">{intl.formatMessage(messages.kindLegacy)}</option>
              </Form.Control>
            </Form.Group>
            {me.data?.course?.may_write && (
              <Button className="mb-2 ml-auto" onClick={openCreate}>
                {intl.formatMessage(messages.createGroup)}
              </Button>
            )}
          </div>
          {groups.error && <Alert variant="danger">{groups.error.message}</Alert>}
          {groups.data && (
            <>
              <p data-testid="group-count">{intl.formatMessage(messages.groupCount, { count: groups.data.count })}</p>
              {groups.data.results.length === 0 ? (
                <p data-testid="no-groups">{intl.formatMessage(messages.noGroupsYet)}</p>
              ) : (
                <table className="table table-striped ug-table" data-testid="groups-table">
                  <caption className="sr-only">{intl.formatMessage(messages.courseHeading)}</caption>
                  <ColumnHeads
                    columns={[messages.name, messages.kind, messages.members, messages.syncState, messages.linkedTo]}
                  />
                  <tbody>
                    {groups.data.results.map((g) => (
                      <tr key={g.id}>
                        <td>
                          <Link to={`/groups/${g.id}`}>{g.name}</Link>
                          {g.rerun_of ? (
                            <div className="small text-muted" data-testid="rerun-of">
                              {intl.formatMessage(messages.carriedFrom, {
                                course: String((g.rerun_of as { course_key?: string }).course_key ?? ''),
                              })}
                            </div>
                          ) : null}
                        </td>
                        <td>{kindLabel(intl, g.kind)}</td>
                        <td>{g.member_count ?? 0}</td>
                        <td>
                          {g.sync && (g.sync.pending > 0 || g.sync.rejected > 0) ? (
                            <>
                              {g.sync.pending > 0 && (
                                <Badge variant="warning" className="mr-1">
                                  {intl.formatMessage(messages.pendingCount, { count: g.sync.pending })}
                                </Badge>
                              )}
                              {g.sync.rejected > 0 && (
                                <Badge variant="danger">
                                  {intl.formatMessage(messages.refusedCount, { count: g.sync.rejected })}
                                </Badge>
                              )}
                            </>
                          ) : g.legacy_link ? (
                            <Badge variant="success">{intl.formatMessage(messages.syncSynced)}</Badge>
                          ) : (
                            <span className="text-muted">{intl.formatMessage(messages.syncNotApplicable)}</span>
                          )}
                        </td>
                        <td>{legacyLinkText(intl, g)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <PageNav
                pages={groups.data.num_pages}
                page={page}
                onChange={setPage}
                label={intl.formatMessage(messages.groupPages)}
              />
            </>
          )}
          {creating && (
            <CreateGroupDialog
              courseKey={courseKey}
              onClose={closeCreate}
              onCreated={() => {
                closeCreate();
                void groups.reload();
              }}
            />
          )}
        </>
      )}
    </>
  );
}
