import { Alert, Badge, Button, Form, Spinner } from '@openedx/paragon';
import { FormEvent, useState } from 'react';
import { useIntl } from 'react-intl';
import { ApiError, call } from '../api';
import { useLoad } from '../hooks';
import messages from '../messages';
import { ColumnHeads } from '../components/ColumnHeads';
import { PageHeading } from '../components/PageHeading';

const LIVE_MS = 3000;

interface Status {
  consumer_lag: Record<string, Record<string, number>>;
  dead_letters: Record<string, { total: number; open: number }>;
  /** A pause of every course has course_key "*". */
  lms_writes: { paused: boolean; pauses: Array<{ course_key: string; paused_by?: string; paused_at?: string }> };
}

interface DeadLetter {
  id: string;
  consumer_group: string;
  reason: string;
  error: string | null;
  event_type: string | null;
  dead_lettered_at: string | null;
  state: string;
}

interface RunListed {
  id: string;
  status: string;
  scope_type: string;
  scope_key: string | null;
  dry_run: number | boolean;
  created_at: string;
  finished_at: string | null;
  differences_found: number | null;
  repaired: number | null;
}

interface Run {
  id: string;
  status: string;
  dry_run: boolean;
  progress: { done: number | null; total: number | null };
  error: string | null;
  report: null | {
    differences_found: number;
    groups_compared: number;
    memberships_compared: number;
    differences: Array<{
      course_key: string;
      group_id: string;
      username: string | null;
      kind: string;
      action: string;
      outcome: string | null;
    }>;
  };
}

export function OperatorPage() {
  const intl = useIntl();
  const status = useLoad(() => call<Status>('legacy', '/status'), [], LIVE_MS);
  if (status.error instanceof ApiError && status.error.status === 403)
    return (
      <Alert variant="warning" data-testid="operator-refused">
        {intl.formatMessage(messages.operatorsOnly)}
      </Alert>
    );
  if (status.error && !status.data) return <Alert variant="danger">{status.error.message}</Alert>;
  if (!status.data) return <Spinner animation="border" screenReaderText={intl.formatMessage(messages.loading)} />;
  return (
    <>
      <PageHeading className="h2 mb-4" title={intl.formatMessage(messages.operatorHeading)} />
      <ConsumerLag status={status.data} />
      <DeadLetters onChanged={status.reload} />
      <LmsWrites status={status.data} onChanged={status.reload} />
      <Reconciliations />
    </>
  );
}

function ConsumerLag({ status }: { status: Status }) {
  const intl = useIntl();
  return (
    <section className="mb-5" aria-labelledby="lag-heading">
      <h2 id="lag-heading" className="h4">
        {intl.formatMessage(messages.consumerLag)}
      </h2>
      <table className="table table-sm ug-table" data-testid="consumer-lag">
        <ColumnHeads columns={[messages.consumerGroup, messages.lag, messages.deadLettersOpen]} />
        <tbody>
          {Object.entries(status.consumer_lag).map(([group, topics]) => (
            <tr key={group}>
              <td className="ug-mono">{group}</td>
              <td>{Object.values(topics).reduce((n, v) => n + v, 0)}</td>
              <td>{status.dead_letters[group]?.open ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A dead letter's state (and the filter's "all"), in the reader's language. */
const DEAD_LETTER_STATES: Record<string, (typeof messages)[keyof typeof messages]> = {
  open: messages.deadLetterStateOpen,
  replayed: messages.deadLetterStateReplayed,
  resolved: messages.deadLetterStateResolved,
  all: messages.deadLetterStateAll,
};

function DeadLetters({ onChanged }: { onChanged: () => Promise<void> }) {
  const intl = useIntl();
  const [reason, setReason] = useState('');
  const [state, setState] = useState('open');
  const [shown, setShown] = useState<{ id: string; body: unknown }>();
  const [outcome, setOutcome] = useState<string>();
  const [error, setError] = useState<string>();
  // Pages as the API gives them: `limit` letters read from `after` on; `next_after` continues.
  const [after, setAfter] = useState<string[]>([]);
  const letters = useLoad(
    () =>
      call<{ results: DeadLetter[]; next_after: string | null }>('legacy', '/dead-letters', {
        query: { reason, state, limit: 100, after: after.at(-1) },
      }),
    [reason, state, after],
    LIVE_MS,
  );
  const act = async (what: 'replays' | 'resolutions', id: string) => {
    setError(undefined);
    try {
      const answer = await call<Record<string, unknown>>('legacy', `/dead-letters/${what}`, {
        method: 'POST',
        body: { id },
      });
      setOutcome(
        what === 'replays'
          ? intl.formatMessage(messages.replayed, { id })
          : intl.formatMessage(messages.resolved, { id }),
      );
      void answer;
      await Promise.all([letters.reload(), onChanged()]);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const show = async (id: string) =>
    setShown({ id, body: await call('legacy', `/dead-letters/${encodeURIComponent(id)}`) });
  const reasons = [...new Set((letters.data?.results ?? []).map((l) => l.reason))].sort();
  return (
    <section className="mb-5" aria-labelledby="dlq-heading">
      <h2 id="dlq-heading" className="h4">
        {intl.formatMessage(messages.deadLetters)}
      </h2>
      <div className="d-flex flex-wrap align-items-end">
        <Form.Group controlId="dlq-reason" className="mr-3">
          <Form.Label>{intl.formatMessage(messages.reason)}</Form.Label>
          <Form.Control
            value={reason}
            list="dlq-reasons"
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => setReason(e.target.value.trim())}
          />
          <datalist id="dlq-reasons">
            {reasons.map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
        </Form.Group>
        <Form.Group controlId="dlq-state" className="mr-3">
          <Form.Label>{intl.formatMessage(messages.state)}</Form.Label>
          <Form.Control
            as="select"
            value={state}
            onChange={(e: React.ChangeEvent<HTMLSelectElement>) => setState(e.target.value)}
          >
            {Object.entries(DEAD_LETTER_STATES).map(([value, label]) => (
              <option key={value} value={value}>
                {intl.formatMessage(label)}
              </option>
            ))}
          </Form.Control>
        </Form.Group>
      </div>
      {outcome && (
        <Alert variant="success" data-testid="dlq-outcome">
          {outcome}
        </Alert>
      )}
      {error && <Alert variant="danger">{error}</Alert>}
      <table className="table table-sm ug-table" data-testid="dead-letters">
        <ColumnHeads
          columns={[
            messages.deadLetter,
            messages.consumerGroup,
            messages.reason,
            messages.eventType,
            messages.state,
            messages.actions,
          ]}
        />
        <tbody>
          {(letters.data?.results ?? []).map((l) => (
            <tr key={l.id} data-dead-letter={l.id}>
              <td className="ug-mono">{l.id}</td>
              <td className="ug-mono">{l.consumer_group}</td>
              <td className="ug-wrap">
                <Badge variant="light">{l.reason}</Badge> <span className="small">{l.error}</span>
              </td>
              <td className="ug-mono">{l.event_type}</td>
              <td>{DEAD_LETTER_STATES[l.state] ? intl.formatMessage(DEAD_LETTER_STATES[l.state]) : l.state}</td>
              <td className="text-nowrap">
                <Button
                  size="sm"
                  variant="outline-primary"
                  className="mr-1"
                  onClick={() => void show(l.id)}
                  aria-label={intl.formatMessage(messages.showLetter, { id: l.id })}
                >
                  {intl.formatMessage(messages.show)}
                </Button>
                {l.state === 'open' && (
                  <>
                    <Button
                      size="sm"
                      className="mr-1"
                      onClick={() => void act('replays', l.id)}
                      aria-label={intl.formatMessage(messages.replayLetter, { id: l.id })}
                    >
                      {intl.formatMessage(messages.replay)}
                    </Button>
                    <Button
                      size="sm"
                      variant="outline-secondary"
                      onClick={() => void act('resolutions', l.id)}
                      aria-label={intl.formatMessage(messages.resolveLetter, { id: l.id })}
                    >
                      {intl.formatMessage(messages.resolve)}
                    </Button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="d-flex mb-3">
        {after.length > 0 && (
          <Button variant="link" onClick={() => setAfter(after.slice(0, -1))}>
            {intl.formatMessage(messages.previous)}
          </Button>
        )}
        {letters.data?.next_after && (
          <Button variant="link" onClick={() => setAfter([...after, letters.data!.next_after!])}>
            {intl.formatMessage(messages.moreDeadLetters)}
          </Button>
        )}
      </div>
      {shown && (
        <div className="border rounded p-2" data-testid="dead-letter-shown">
          <h3 className="h6">{shown.id}</h3>
          <pre className="ug-mono mb-0">{JSON.stringify(shown.body, null, 2)}</pre>
        </div>
      )}
    </section>
  );
}

function LmsWrites({ status, onChanged }: { status: Status; onChanged: () => Promise<void> }) {
  const intl = useIntl();
  const [courseKey, setCourseKey] = useState('');
  const [error, setError] = useState<string>();
  const send = async (what: 'pause' | 'resume', course?: string | null) => {
    setError(undefined);
    try {
      await call('legacy', `/lms-writes/${what}`, { method: 'POST', body: course ? { course_key: course } : {} });
      await onChanged();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section className="mb-5" aria-labelledby="writes-heading">
      <h2 id="writes-heading" className="h4">
        {intl.formatMessage(messages.lmsWrites)}
      </h2>
      {error && <Alert variant="danger">{error}</Alert>}
      <ul data-testid="pauses">
        {status.lms_writes.pauses.length === 0 && <li>{intl.formatMessage(messages.noPauses)}</li>}
        {status.lms_writes.pauses.map((p) => (
          <li key={p.course_key}>
            {p.course_key === '*' ? intl.formatMessage(messages.allCourses) : p.course_key}{' '}
            <Button
              size="sm"
              variant="link"
              onClick={() => void send('resume', p.course_key === '*' ? null : p.course_key)}
              aria-label={intl.formatMessage(messages.resumeCourse, {
                course: p.course_key === '*' ? intl.formatMessage(messages.allCourses) : p.course_key,
              })}
            >
              {intl.formatMessage(messages.resume)}
            </Button>
          </li>
        ))}
      </ul>
      <Form
        className="d-flex align-items-end"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void send('pause', courseKey.trim() || null);
        }}
      >
        <Form.Group controlId="pause-course" className="mr-2 mb-0">
          <Form.Label>{intl.formatMessage(messages.pauseCourseLabel)}</Form.Label>
          <Form.Control
            value={courseKey}
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => setCourseKey(e.target.value)}
          />
        </Form.Group>
        <Button type="submit" variant="outline-danger">
          {intl.formatMessage(messages.pause)}
        </Button>
      </Form>
    </section>
  );
}

function Reconciliations() {
  const intl = useIntl();
  const [courseKey, setCourseKey] = useState('');
  const [dryRun, setDryRun] = useState(true);
  const [selected, setSelected] = useState<string>();
  const [error, setError] = useState<string>();
  const runs = useLoad(() => call<{ results: RunListed[] }>('legacy', '/reconciliations'), [], LIVE_MS);
  const run = useLoad(
    () =>
      selected
        ? call<Run>('legacy', `/reconciliations/${selected}`, { query: { differences_limit: 200 } })
        : Promise.resolve(undefined),
    [selected],
    LIVE_MS,
  );
  const start = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const scope = courseKey.trim() ? { course_key: courseKey.trim() } : { all: true };
      const answer = await call<{ id: string }>('legacy', '/reconciliations', {
        method: 'POST',
        body: { ...scope, dry_run: dryRun },
      });
      setSelected(answer.id);
      await runs.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section className="mb-5" aria-labelledby="reconcile-heading">
      <h2 id="reconcile-heading" className="h4">
        {intl.formatMessage(messages.reconciliation)}
      </h2>
      {error && <Alert variant="danger">{error}</Alert>}
      <Form className="d-flex flex-wrap align-items-end mb-3" onSubmit={start}>
        <Form.Group controlId="reconcile-course" className="mr-2 mb-0">
          <Form.Label>{intl.formatMessage(messages.reconcileCourseLabel)}</Form.Label>
          <Form.Control
            value={courseKey}
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => setCourseKey(e.target.value)}
          />
        </Form.Group>
        <Form.Checkbox
          className="mr-3"
          checked={dryRun}
          onChange={(e: React.ChangeEvent<HTMLInputElement>) => setDryRun(e.target.checked)}
        >
          {intl.formatMessage(messages.dryRun)}
        </Form.Checkbox>
        <Button type="submit">{intl.formatMessage(messages.startRun)}</Button>
      </Form>
      <DriftChart runs={runs.data?.results ?? []} />
      <table className="table table-sm ug-table" data-testid="runs">
        <ColumnHeads
          columns={[messages.when, messages.scope, messages.state, messages.found, messages.repaired, messages.actions]}
        />
        <tbody>
          {(runs.data?.results ?? []).map((r) => (
            <tr key={r.id}>
              <td>{new Date(r.created_at).toLocaleString()}</td>
              <td>
                {r.scope_type} {r.scope_key ?? ''} {r.dry_run ? `(${intl.formatMessage(messages.dryRun)})` : ''}
              </td>
              <td>{r.status}</td>
              <td>{r.differences_found ?? ''}</td>
              <td>{r.repaired ?? ''}</td>
              <td>
                <Button
                  size="sm"
                  variant="link"
                  onClick={() => setSelected(r.id)}
                  aria-label={intl.formatMessage(messages.openRun, { when: new Date(r.created_at).toLocaleString() })}
                >
                  {intl.formatMessage(messages.open)}
                </Button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {run.data && (
        <div className="border rounded p-3" data-testid="run-report">
          <p>
            {run.data.status}
            {run.data.progress.total ? ` · ${run.data.progress.done ?? 0} / ${run.data.progress.total}` : ''}
            {run.data.error ? ` · ${run.data.error}` : ''}
          </p>
          {run.data.report && (
            <>
              <p>
                {intl.formatMessage(messages.runSummary, {
                  groups: run.data.report.groups_compared,
                  memberships: run.data.report.memberships_compared,
                  found: run.data.report.differences_found,
                })}
              </p>
              <table className="table table-sm ug-table">
                <ColumnHeads columns={[messages.course, messages.user, messages.difference, messages.action]} />
                <tbody>
                  {run.data.report.differences.map((d, i) => (
                    <tr key={i}>
                      <td className="ug-mono">{d.course_key}</td>
                      <td>{d.username}</td>
                      <td>{d.kind}</td>
                      <td>
                        {d.action} {d.outcome ?? ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </div>
      )}
    </section>
  );
}

/** Drift found and repaired per finished run, oldest on the left (an SVG, with the same figures as a table above). */
function DriftChart({ runs }: { runs: RunListed[] }) {
  const intl = useIntl();
  const points = runs.filter((r) => r.differences_found !== null).reverse();
  if (!points.length) return null;
  const max = Math.max(1, ...points.map((p) => p.differences_found ?? 0));
  const width = 640;
  const height = 160;
  const step = width / points.length;
  const bar = Math.max(2, step / 2 - 2);
  return (
    <figure className="ug-drift-chart" data-testid="drift-chart">
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={intl.formatMessage(messages.driftChart)}>
        {points.map((p, i) => {
          const found = ((p.differences_found ?? 0) / max) * height;
          const repaired = ((p.repaired ?? 0) / max) * height;
          return (
            <g key={p.id}>
              <rect x={i * step + 1} y={height - found} width={bar} height={found} fill="#b4540d" />
              <rect x={i * step + bar + 2} y={height - repaired} width={bar} height={repaired} fill="#0d7d4d" />
            </g>
          );
        })}
        <line x1="0" y1={height} x2={width} y2={height} stroke="#454545" />
      </svg>
      <figcaption className="small">{intl.formatMessage(messages.driftLegend)}</figcaption>
    </figure>
  );
}
