import { groupLag } from './consumer-lag';

describe('groupLag', () => {
  it("reads a group's own topics and its retry topic, all under the deployment's prefix", async () => {
    const admin = {
      fetchOffsets: jest.fn().mockResolvedValue([]),
      fetchTopicOffsets: jest.fn().mockResolvedValue([{ partition: 0, low: '2', high: '5', offset: '5' }]),
    };
    const lag = await groupLag({} as never, 'svc.reads', ['events'], 'site', admin as never);
    expect(admin.fetchOffsets).toHaveBeenCalledWith({
      groupId: 'site-svc.reads',
      topics: ['site-events', 'site-svc.reads.retry'],
    });
    // A group that never committed counts from the start of the log.
    expect(lag).toEqual({ 'site-events': 3, 'site-svc.reads.retry': 3 });
  });
});
