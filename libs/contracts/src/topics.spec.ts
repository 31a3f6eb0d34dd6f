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
});
