import { Alert, Button, Form, Spinner, Tab, Tabs } from '@openedx/paragon';
import { useEffect, useRef, useState } from 'react';
import { IntlShape, useIntl } from 'react-intl';
import { Link, useParams } from 'react-router-dom';
import { ApiError, apiUrl, AuditEntry, call, Group, Me, Member, MemberResult, Page } from '../api';
import { PageNav } from '../components/PageNav';
import { ServerSearch } from '../components/ServerSearch';
import { SyncBadge } from '../components/SyncBadge';
import { kindLabel, originLabel, resultLabel } from '../components/labels';
import { legacyLinkText } from '../components/legacy';
import { useLoad } from '../hooks';
import messages from '../messages';
import { ColumnHeads } from '../components/ColumnHeads';
import { PageHeading } from '../components/PageHeading';
import { coursePath } from './HomePage';

const LIVE_MS = 2000;
const MEMBERS_PAGE = 50;
const HISTORY_PAGE = 25;
const ACTIONS = [
  'member_added',
  'member_removed',
  'member_sync_rejected',
  'refresh_requested',
  'refresh_completed',
  'refresh_failed',
  'refresh_discarded',
  'group_created',
  'group_updated',
  'group_renamed',
  'group_enabled',
  'group_disabled',
  'group_deleted',
  'criteria_changed',
  'legacy_link_changed',
  'legacy_link_rejected',
];

export function GroupPage() {
  const intl = useIntl();
  const groupId = useParams().groupId!;
  const group = useLoad(
    () => call<Group & { member_count: number }>('groups', `/groups/${groupId}`),
    [groupId],
    LIVE_MS,
  );
  const scopeKey = group.data?.scope_key;
  const me = useLoad(
    () => (scopeKey ? call<Me>('groups', '/me', { query: { course_key: scopeKey } }) : Promise.resolve(undefined)),
    [scopeKey],
  );
  if (group.loading && !group.data)
    return <Spinner animation="border" screenReaderText={intl.formatMessage(messages.loading)} />;
  if (group.error && !group.data)
    return (
      <Alert variant="danger" data-testid="group-error">
        {group.error.message}
      </Alert>
    );
  const g = group.data!;
  return (
    <>
      <p>
        <Link to={coursePath(g.scope_key)}>{intl.formatMessage(messages.backToCourse, { course: g.scope_key })}</Link>
      </p>
      <PageHeading title={g.name} />
      <p className="text-muted">
        {kindLabel(intl, g.kind)} · {intl.formatMessage(messages.memberCount, { count: g.member_count })}
        {g.legacy_link ? ` · ${legacyLinkText(intl, g)}` : ''}
        {g.collection ? ` · ${intl.formatMessage(messages.inCollection, { collection: g.collection })}` : ''}
      </p>
      {g.rerun_of ? (
        <p data-testid="rerun-of">
          {intl.formatMessage(messages.carriedFrom, {
            course: String((g.rerun_of as { course_key?: string }).course_key ?? ''),
          })}
        </p>
      ) : null}
      {g.description && <p>{g.description}</p>}
      {g.kind === 'dynamic' && (
        <RefreshPanel group={g} mayWrite={!!me.data?.course?.may_write} onRequested={group.reload} />
      )}
      <Tabs defaultActiveKey="members" id="group-tabs" className="mt-3" mountOnEnter>
        <Tab eventKey="members" title={intl.formatMessage(messages.members)}>
          <MembersTab group={g} mayWrite={!!me.data?.course?.may_write} onChanged={group.reload} />
        </Tab>
        <Tab eventKey="history" title={intl.formatMessage(messages.history)}>
          <HistoryTab groupId={g.id} />
        </Tab>
      </Tabs>
    </>
  );
}

const REFRESH_OUTCOMES = ['refresh_completed', 'refresh_discarded', 'refresh_failed'];

/**
 * A dynamic group's refresh: running from the request until the history records its outcome
 * (completed, discarded or failed, newer than the history was at the request), so no clock of the
 * browser is compared with the evaluator's.
 */
function RefreshPanel({
  group,
  mayWrite,
  onRequested,
}: {
  group: Group;
  mayWrite: boolean;
  onRequested: () => Promise<void>;
}) {
  const intl = useIntl();
  const [sinceEntry, setSinceEntry] = useState<number>();
  const [error, setError] = useState<string>();
  const recent = useLoad(
    () => call<Page<AuditEntry>>('groups', `/groups/${group.id}/history`, { query: { page_size: 20 } }),
    [group.id],
    LIVE_MS,
  );
  const outcomes = (recent.data?.results ?? []).filter((e) => REFRESH_OUTCOMES.includes(e.action));
  const running = sinceEntry !== undefined && !outcomes.some((e) => e.id > sinceEntry);
  const completed = outcomes.find((e) => e.action === 'refresh_completed');
  const refresh = async () => {
    setError(undefined);
    try {
      const latest = await call<Page<AuditEntry>>('groups', `/groups/${group.id}/history`, { query: { page_size: 1 } });
      setSinceEntry(latest.results[0]?.id ?? 0);
      await call('groups', `/groups/${group.id}/refresh`, { method: 'POST' });
      await Promise.all([onRequested(), recent.reload()]);
    } catch (e) {
      setSinceEntry(undefined);
      setError((e as Error).message);
    }
  };
  return (
    <section className="border rounded p-3 mb-3" aria-labelledby="refresh-heading" data-testid="refresh-panel">
      <h2 id="refresh-heading" className="h5">
        {intl.formatMessage(messages.refreshHeading)}
      </h2>
      <p data-testid="refresh-status">
        {running ? (
          <>
            <Spinner animation="border" size="sm" className="mr-2" screenReaderText="" />
            {intl.formatMessage(messages.refreshing)}
          </>
        ) : group.last_refreshed_at ? (
          intl.formatMessage(messages.lastRefreshed, { at: new Date(group.last_refreshed_at).toLocaleString() })
        ) : (
          intl.formatMessage(messages.neverRefreshed)
        )}
      </p>
      {completed && (
        <p data-testid="refresh-counts">
          {intl.formatMessage(messages.refreshCounts, {
            added: Number(completed.details.added ?? 0),
            removed: Number(completed.details.removed ?? 0),
            members: Number(completed.details.member_count ?? 0),
          })}
        </p>
      )}
      {group.evaluation_error && (
        <Alert variant="danger">
          {intl.formatMessage(messages.refreshFailed, { error: group.evaluation_error.error })}
        </Alert>
      )}
      {error && <Alert variant="danger">{error}</Alert>}
      {mayWrite && (
        <Button onClick={refresh} disabled={running}>
          {intl.formatMessage(messages.refreshNow)}
        </Button>
      )}
    </section>
  );
}

function ResultsTable({ results, testId }: { results: MemberResult[]; testId: string }) {
  const intl = useIntl();
  return (
    <table className="table table-sm ug-table" data-testid={testId}>
      <ColumnHeads columns={[messages.row, messages.user, messages.result, messages.reason]} />
      <tbody>
        {results.map((r, i) => (
          <tr key={i}>
            <td>{r.row ?? i + 1}</td>
            <td>{r.username ?? r.email ?? r.user_id}</td>
            <td>{resultLabel(intl, r.result)}</td>
            <td>{r.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `added: 2, unknown: 1`: a bulk answer in a line. */
function summarize(intl: IntlShape, results: MemberResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.result, (counts.get(r.result) ?? 0) + 1);
  return [...counts].map(([result, n]) => `${resultLabel(intl, result)}: ${n}`).join(', ');
}

function MembersTab({
  group,
  mayWrite,
  onChanged,
}: {
  group: Group;
  mayWrite: boolean;
  onChanged: () => Promise<void>;
}) {
  const intl = useIntl();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<'active' | 'all'>('active');
  const [page, setPage] = useState(1);
  const [toAdd, setToAdd] = useState('');
  const [results, setResults] = useState<MemberResult[]>();
  const [csvResults, setCsvResults] = useState<{ summary: Record<string, number>; results: MemberResult[] }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // What the user's last action did, announced once (one region, always mounted; polling announces nothing).
  const [announced, setAnnounced] = useState('');
  const members = useLoad(
    () =>
      call<Page<Member>>('groups', `/groups/${group.id}/members`, {
        query: { status, search, page, page_size: MEMBERS_PAGE },
      }),
    [group.id, status, search, page],
    LIVE_MS,
  );
  // A page that no longer exists (its last member removed): the one before it.
  const pageGone = members.error instanceof ApiError && members.error.code === 'PAGE_NOT_FOUND';
  useEffect(() => {
    if (pageGone && page > 1) setPage(page - 1);
  }, [pageGone, page]);
  // Dynamic groups take members from their criteria; tracks and whole teamsets from the LMS (the API says which).
  const writable = mayWrite && group.kind !== 'dynamic';
  const total = useRef<HTMLParagraphElement>(null);
  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      await Promise.all([members.reload(), onChanged()]);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const add = () =>
    act(async () => {
      const refs = toAdd
        .split(/[\s,;]+/)
        .map((t) => t.trim())
        .filter(Boolean)
        .map((t) => (t.includes('@') ? { email: t } : { username: t }));
      const answer = await call<{ results: MemberResult[] }>('groups', `/groups/${group.id}/members`, {
        method: 'POST',
        body: { members: refs },
      });
      setResults(answer.results);
      setToAdd('');
      setAnnounced(summarize(intl, answer.results));
    });
  const remove = (m: Member) =>
    act(async () => {
      await call('groups', `/groups/${group.id}/members/${m.user_id}`, { method: 'DELETE' });
      setAnnounced(intl.formatMessage(messages.memberRemoved, { username: m.username }));
      // The row (and the focused button) goes: focus stays in the list, on its count.
      total.current?.focus();
    });
  const upload = (file: File) =>
    act(async () => {
      const form = new FormData();
      form.append('file', file);
      const answer = await call<{ summary: Record<string, number>; results: MemberResult[] }>(
        'groups',
        `/groups/${group.id}/members/csv`,
        { method: 'POST', form },
      );
      setCsvResults(answer);
      setAnnounced(summarize(intl, answer.results));
    });

  return (
    <div className="pt-3">
      <p role="status" className="sr-only" data-testid="members-status">
        {announced}
      </p>
      {error && (
        <Alert variant="danger" data-testid="members-error">
          {error}
        </Alert>
      )}
      {writable && (
        <div className="d-flex flex-wrap mb-3">
          <Form
            className="mr-4 mb-2"
            onSubmit={(e: React.FormEvent) => {
              e.preventDefault();
              void add();
            }}
          >
            <Form.Group controlId="add-members" className="mb-1">
              <Form.Label>{intl.formatMessage(messages.addMembersLabel)}</Form.Label>
              <Form.Control
                value={toAdd}
                onChange={(e: React.ChangeEvent<HTMLInputElement>) => setToAdd(e.target.value)}
              />
            </Form.Group>
            <Button type="submit" disabled={busy || !toAdd.trim()}>
              {intl.formatMessage(messages.addMembers)}
            </Button>
          </Form>
          <Form.Group controlId="csv-upload" className="mr-4 mb-2">
            <Form.Label>{intl.formatMessage(messages.csvUpload)}</Form.Label>
            <Form.Control
              type="file"
              accept=".csv,text/csv"
              disabled={busy}
              onChange={(e: React.ChangeEvent<HTMLInputElement>) => {
                const file = e.target.files?.[0];
                if (file) void upload(file);
                e.target.value = '';
              }}
            />
          </Form.Group>
        </div>
      )}
      {!writable && group.kind === 'dynamic' && (
        <p className="text-muted">{intl.formatMessage(messages.readOnlyMembers)}</p>
      )}
      <p>
        <a
          className="btn btn-outline-primary"
          href={apiUrl('groups', `/groups/${group.id}/members/csv`, { status })}
          download
        >
          {intl.formatMessage(messages.csvExport)}
        </a>
      </p>
      {results && <ResultsTable results={results} testId="add-results" />}
      {csvResults && (
        <>
          <p data-testid="csv-summary">
            {Object.entries(csvResults.summary)
              .map(([k, v]) => `${k === 'rows' ? intl.formatMessage(messages.rowsRead) : resultLabel(intl, k)}: ${v}`)
              .join(' · ')}
          </p>
          <ResultsTable results={csvResults.results} testId="csv-results" />
        </>
      )}
      <div className="d-flex flex-wrap align-items-end mb-2">
        <ServerSearch
          label={intl.formatMessage(messages.searchMembers)}
          placeholder={intl.formatMessage(messages.searchMembersPlaceholder)}
          onSearch={(text) => {
            setSearch(text);
            setPage(1);
          }}
        />
        <Form.Group controlId="member-status" className="mb-2">
          <Form.Label>{intl.formatMessage(messages.show)}</Form.Label>
          <Form.Control
            as="select"
            value={status}
            onChange={(e: React.ChangeEvent<HTMLSelectElement>) => {
              setStatus(e.target.value as 'active' | 'all');
              setPage(1);
            }}
          >
            <option value="active">{intl.formatMessage(messages.currentMembers)}</option>
            <option value="all">{intl.formatMessage(messages.allMembers)}</option>
          </Form.Control>
        </Form.Group>
      </div>
      {members.error && !pageGone && <Alert variant="danger">{members.error.message}</Alert>}
      {members.data && (
        <>
          <p data-testid="member-total" ref={total} tabIndex={-1}>
            {intl.formatMessage(messages.memberCount, { count: members.data.count })}
          </p>
          <table className="table table-striped ug-table" data-testid="members-table">
            <caption className="sr-only">{intl.formatMessage(messages.members)}</caption>
            <ColumnHeads
              columns={[
                messages.username,
                messages.userId,
                messages.origin,
                messages.joined,
                messages.syncState,
                writable && messages.actions,
              ]}
            />
            <tbody>
              {members.data.results.map((m) => (
                <tr key={m.user_id} data-username={m.username}>
                  <td>{m.username}</td>
                  <td>{m.user_id}</td>
                  <td>{originLabel(intl, m.origin)}</td>
                  <td>{new Date(m.joined_at).toLocaleString()}</td>
                  <td>
                    {m.active ? (
                      <SyncBadge state={m.sync_state} error={m.sync_error} />
                    ) : (
                      intl.formatMessage(messages.formerMember)
                    )}
                  </td>
                  {writable && (
                    <td>
                      {m.active && (
                        <Button
                          variant="outline-danger"
                          size="sm"
                          disabled={busy}
                          onClick={() => void remove(m)}
                          aria-label={intl.formatMessage(messages.removeMember, { username: m.username })}
                        >
                          {intl.formatMessage(messages.remove)}
                        </Button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <PageNav
            pages={members.data.num_pages}
            page={page}
            onChange={setPage}
            label={intl.formatMessage(messages.memberPages)}
          />
        </>
      )}
    </div>
  );
}

function HistoryTab({ groupId }: { groupId: string }) {
  const intl = useIntl();
  const [userId, setUserId] = useState('');
  const [action, setAction] = useState('');
  const [page, setPage] = useState(1);
  const history = useLoad(
    () =>
      call<Page<AuditEntry>>('groups', `/groups/${groupId}/history`, {
        query: { user_id: /^\d+$/.test(userId) ? userId : undefined, action, page, page_size: HISTORY_PAGE },
      }),
    [groupId, userId, action, page],
    LIVE_MS,
  );
  return (
    <div className="pt-3">
      <div className="d-flex flex-wrap align-items-end">
        <Form.Group controlId="history-user" className="mr-3">
          <Form.Label>{intl.formatMessage(messages.memberUserId)}</Form.Label>
          <Form.Control
            inputMode="numeric"
            value={userId}
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => {
              setUserId(e.target.value.trim());
              setPage(1);
            }}
          />
        </Form.Group>
        <Form.Group controlId="history-action" className="mr-3">
          <Form.Label>{intl.formatMessage(messages.action)}</Form.Label>
          <Form.Control
            as="select"
            value={action}
            onChange={(e: React.ChangeEvent<HTMLSelectElement>) => {
              setAction(e.target.value);
              setPage(1);
            }}
          >
            <option value="">{intl.formatMessage(messages.anyAction)}</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </Form.Control>
        </Form.Group>
      </div>
      {history.error && <Alert variant="danger">{history.error.message}</Alert>}
      {history.data && (
        <>
          <table className="table table-sm ug-table" data-testid="history-table">
            <caption className="sr-only">{intl.formatMessage(messages.history)}</caption>
            <ColumnHeads columns={[messages.when, messages.action, messages.userId, messages.by, messages.details]} />
            <tbody>
              {history.data.results.map((e) => (
                <tr key={e.id}>
                  <td>{new Date(e.at).toLocaleString()}</td>
                  <td>{e.action}</td>
                  <td>{e.user_id ?? ''}</td>
                  <td>{e.actor ?? e.trigger}</td>
                  <td className="ug-mono">{JSON.stringify(e.details)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <PageNav
            pages={history.data.num_pages}
            page={page}
            onChange={setPage}
            label={intl.formatMessage(messages.historyPages)}
          />
        </>
      )}
    </div>
  );
}
