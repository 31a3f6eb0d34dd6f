import { LegacyLink } from '../links/legacy-link.entity';
import { FakeKind } from './fake.kind';
import { UserGroup } from './legacy-kind.port';
import { LegacyKinds } from './legacy-kinds.registry';

const group = (criterion: string, scope = 'course') =>
  ({ scope_type: scope, criteria: [{ type: criterion, config: '{"x": 1}' }] }) as unknown as UserGroup;

describe('the legacy kinds registry', () => {
  const fake = new FakeKind();
  const kinds = new LegacyKinds([fake]);

  it("finds a link's kind by its type, and nothing for a type no kind owns", () => {
    expect(kinds.of({ legacyType: 'teamset' })).toBe(fake);
    expect(kinds.of({ legacyType: 'enrollment_track' })).toBeUndefined();
    expect(kinds.linkTypes).toEqual(['cohort', 'teamset']);
  });

  it("finds the kind a course group's criterion asks for, with its config; none for other scopes", () => {
    expect(kinds.forGroup(group('legacy_fake'))).toEqual({ kind: fake, config: '{"x": 1}' });
    expect(kinds.forGroup(group('legacy_fake', 'org'))).toBeUndefined();
    expect(kinds.forGroup(group('email_domain'))).toBeUndefined();
  });

  it('writes only to the link types a kind writes to', () => {
    expect(kinds.writesFor(Object.assign(new LegacyLink(), { legacyType: 'cohort' }))).toBe(fake);
    expect(kinds.writesFor(Object.assign(new LegacyLink(), { legacyType: 'teamset' }))).toBeUndefined();
  });

  it('lists the link types reconciled on their own schedule', () => {
    expect(kinds.scheduledLinkTypes).toEqual([]);
    expect(new LegacyKinds([Object.assign(new FakeKind(), { reconciledOnItsOwn: true })]).scheduledLinkTypes).toEqual([
      'cohort',
      'teamset',
    ]);
  });
});
