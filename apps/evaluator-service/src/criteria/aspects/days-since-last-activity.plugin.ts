import { CRITERION_TYPES } from '@groups-sync/contracts';
import { CriterionPlugin } from '@groups-sync/criteria-sdk';
import { OptionalBackend } from '../criteria-registry';
import { IdSource } from './aspects-clickhouse';
import { AspectsDatabases, lastActivityQuery } from './last-activity-query';

/** `days_since_last_activity`: whole days since the learner last visited the course, from Aspects' ClickHouse. */
export function daysSinceLastActivity(source: IdSource, databases: AspectsDatabases): CriterionPlugin {
  return {
    spec: CRITERION_TYPES.days_since_last_activity,
    evaluate: (criterion, context) => {
      const query = lastActivityQuery(criterion, context, databases);
      const ids = source.ids(query.sql);
      return query.except ? { except: ids } : ids;
    },
  };
}

/**
 * The Aspects backend's types: installed only when ClickHouse is configured. Unconfigured, they are
 * not announced, so groups-service refuses new groups that use them instead of accepting groups that
 * could never be evaluated; an existing one fails its evaluation with this reason.
 */
export function aspectsBackend(source: IdSource | null, databases: AspectsDatabases): OptionalBackend {
  if (!source)
    return {
      types: [CRITERION_TYPES.days_since_last_activity.id],
      unavailable: 'needs Aspects, and ASPECTS_CLICKHOUSE_URL is not set',
    };
  return { plugins: [daysSinceLastActivity(source, databases)] };
}
