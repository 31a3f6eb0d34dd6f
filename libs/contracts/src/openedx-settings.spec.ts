import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CONSUMER_GROUP_TOPICS, LMS_TOPICS, Topic } from './topics';
import { EVENT_TYPES, EventType } from './event-types';

const SETTINGS = join(__dirname, '..', '..', '..', 'deploy', 'openedx', 'lms_settings.py');

/** Proposed events (openedx-events has none for teams or cohort removals): the LMS companion plugin defines and enables them. */
const PROPOSED: EventType[] = [
  EventType.CohortMembershipRemoved,
  EventType.TeamMembershipAdded,
  EventType.TeamMembershipRemoved,
];

/** The producer config operators paste, read by Python itself (the literal, without importing Django). */
function pastedConfig(): Record<string, Record<string, { event_key_field: string; enabled: boolean }>> {
  const script = [
    'import ast, json, sys',
    'tree = ast.parse(open(sys.argv[1]).read())',
    'node = next(n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "GROUPS_SYNC_EVENT_BUS_PRODUCER_CONFIG")',
    'print(json.dumps(ast.literal_eval(node)))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, SETTINGS], { encoding: 'utf8' }));
}

describe('deploy/openedx/lms_settings.py against what the services consume', () => {
  const config = pastedConfig();
  const consumedTopics = new Set(
    Object.values(CONSUMER_GROUP_TOPICS)
      .flat()
      .filter((t) => LMS_TOPICS.includes(t)),
  );
  const consumedTypes = (Object.keys(EVENT_TYPES) as EventType[]).filter(
    (t) => EVENT_TYPES[t].source === 'lms' && consumedTopics.has(EVENT_TYPES[t].topic) && !PROPOSED.includes(t),
  );

  it('enables every LMS event a consumer group reads, on the topic it reads it from, keyed as the services expect', () => {
    expect(Object.keys(config).sort()).toEqual([...consumedTypes].sort());
    for (const type of consumedTypes) {
      expect({ type, topics: config[type] }).toEqual({
        type,
        topics: { [EVENT_TYPES[type].topic]: { event_key_field: EVENT_TYPES[type].keyField, enabled: true } },
      });
    }
  });

  it('has the LMS companion plugin enable the proposed events, on the topics and keys the services read them from', () => {
    const plugin = join(__dirname, '..', '..', '..', 'deploy', 'openedx-plugin', 'openedx_groups_sync', 'events.py');
    const script = [
      'import ast, json, sys',
      'tree = ast.parse(open(sys.argv[1]).read())',
      'node = next(n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PRODUCER_CONFIG")',
      'print(json.dumps(ast.literal_eval(node)))',
    ].join('\n');
    const proposed = JSON.parse(execFileSync('python3', ['-c', script, plugin], { encoding: 'utf8' }));
    expect(Object.keys(proposed).sort()).toEqual([...PROPOSED].sort());
    for (const type of PROPOSED)
      expect(proposed[type]).toEqual({
        [EVENT_TYPES[type].topic]: { event_key_field: EVENT_TYPES[type].keyField, enabled: true },
      });
  });

  it('names only topics some consumer group reads', () => {
    const named = new Set(Object.values(config).flatMap((topics) => Object.keys(topics)));
    for (const topic of named) expect(consumedTopics.has(topic as Topic)).toBe(true);
  });
});
