import { TeamsConfig } from './teams-config';

describe('teams configuration, cleaned as teams_config.py cleans it', () => {
  it('keeps the first teamset of each valid id, reads `topics` when there is no `team_sets`, and defaults the type to open', () => {
    const config = new TeamsConfig({
      topics: [
        { id: 'a', name: 'A' },
        { id: 'a', name: 'again' },
        { id: 'bad/id' },
        { name: 'no id' },
        { id: 7, type: 'private_managed' },
        { id: 'c', type: 'nonsense' },
      ],
    });
    expect(config.teamsets.map((t) => [t.id, t.name, t.type])).toEqual([
      ['a', 'A', 'open'],
      ['7', '7', 'private_managed'],
      ['c', 'c', 'open'],
    ]);
    expect(new TeamsConfig({ team_sets: [{ id: 'x' }], topics: [{ id: 'y' }] }).teamsets.map((t) => t.id)).toEqual([
      'x',
    ]);
  });

  it("sizes teams as calc_max_team_size does: managed 200, open its own size, else the course's, else 50", () => {
    const config = new TeamsConfig({
      max_team_size: 5,
      topics: [
        { id: 'own', max_team_size: 2 },
        { id: 'open' },
        { id: 'managed', type: 'public_managed', max_team_size: 2 },
        { id: 'zero', max_team_size: 0 },
      ],
    });
    expect(['own', 'open', 'managed', 'zero'].map((id) => config.calcMaxTeamSize(id))).toEqual([2, 5, 200, 5]);
    expect(new TeamsConfig({ topics: [{ id: 'x' }] }).defaultMaxTeamSize).toBe(50);
    expect(new TeamsConfig({ max_team_size: 0 }).defaultMaxTeamSize).toBe(50);
    expect(new TeamsConfig({ max_team_size: '9' }).defaultMaxTeamSize).toBe(50);
  });

  it('counts public_managed and private_managed as instructor-managed, not open_managed', () => {
    const config = new TeamsConfig({
      topics: ['open', 'public_managed', 'private_managed', 'open_managed'].map((type) => ({ id: type, type })),
    });
    expect(config.teamsets.map((t) => config.isInstructorManaged(t.id))).toEqual([false, true, true, false]);
  });

  it('is enabled when it says so, else when it has teamsets', () => {
    expect([
      new TeamsConfig({}).enabled,
      new TeamsConfig({ topics: [{ id: 'a' }] }).enabled,
      new TeamsConfig({ enabled: false, topics: [{ id: 'a' }] }).enabled,
    ]).toEqual([false, true, false]);
  });
});
