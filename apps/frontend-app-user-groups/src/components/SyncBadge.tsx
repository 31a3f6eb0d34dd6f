import { Badge } from '@openedx/paragon';
import { useIntl } from 'react-intl';
import messages from '../messages';

/** A membership's way to the LMS: pending until legacy-sync answers, then synced or refused (with the LMS's reason). */
export function SyncBadge({ state, error }: { state: string | null; error?: string | null }) {
  const intl = useIntl();
  if (!state) return <span className="text-muted">{intl.formatMessage(messages.syncNotApplicable)}</span>;
  const variant = state === 'synced' ? 'success' : state === 'pending' ? 'warning' : 'danger';
  const label =
    state === 'synced'
      ? intl.formatMessage(messages.syncSynced)
      : state === 'pending'
        ? intl.formatMessage(messages.syncPending)
        : intl.formatMessage(messages.syncRefused);
  return (
    <span data-testid="sync-state" data-state={state}>
      <Badge variant={variant}>{label}</Badge>
      {error && <span className="ml-2 small">{error}</span>}
    </span>
  );
}
