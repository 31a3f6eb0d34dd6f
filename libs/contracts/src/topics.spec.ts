import { allTopicSpecs, ConsumerGroup, fullTopicName, Topic } from './topics';

describe('topics', () => {
  it('apply EVENT_BUS_TOPIC_PREFIX as {prefix}-{topic}, and nothing when unset', () => {
    expect(fullTopicName(Topic.UserGroupLifecycle, 'prod')).toBe('prod-user-groups-lifecycle');
    expect(fullTopicName(Topic.UserGroupLifecycle, undefined)).toBe('user-groups-lifecycle');
  });

  it('give every consumer group a dead-letter and a retry topic', () => {
    const names = allTopicSpecs('t').map((s) => s.name);
    for (const group of Object.values(ConsumerGroup)) {
      expect(names).toContain(`t-${group}.dead-letter`);
      expect(names).toContain(`t-${group}.retry`);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('keep dead letters 30 days unless told otherwise, and only dead letters', () => {
    const retention = (specs: ReturnType<typeof allTopicSpecs>) =>
      new Set(specs.map((s) => `${s.name.endsWith('.dead-letter')}:${s.retentionMs ?? 'default'}`));
    expect(retention(allTopicSpecs('t'))).toEqual(new Set([`true:${30 * 86_400_000}`, 'false:default']));
    expect(retention(allTopicSpecs('t', 3, 7 * 86_400_000))).toEqual(
      new Set([`true:${7 * 86_400_000}`, 'false:default']),
    );
  });
});
