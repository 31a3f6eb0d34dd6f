import fc from 'fast-check';
import { replaceInJson } from '@groups-sync/persistence';
import { PackedEvents, packedEventId, packEvents, unpackEvents } from './outbox-batch';

/** Events of one shape: the fields a membership event has, any of them varying or not. */
const leaf = fc.oneof(
  fc.integer(),
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const key = fc.string({ minLength: 1, maxLength: 6 });
const events = fc
  .tuple(
    fc.integer({ min: 1, max: 40 }),
    fc.dictionary(key, fc.constant(0), { minKeys: 1, maxKeys: 5 }),
    fc.dictionary(key, fc.constant(0), { maxKeys: 3 }),
  )
  .chain(([n, keys, nested]) =>
    fc
      .array(
        fc.record({
          ...Object.fromEntries(Object.keys(keys).map((k) => [k, leaf])),
          deeper: fc.record(Object.fromEntries(Object.keys(nested).map((k) => [k, leaf]))),
        }),
        { minLength: n, maxLength: n },
      )
      .map((rows) => rows.map(({ deeper, ...fields }) => ({ membership: { ...fields, deeper }, version: 1 }))),
  );

describe('packed outbox rows', () => {
  it('unpack(pack(events)) gives the events back, in order', () => {
    fc.assert(
      fc.property(events, (list) => {
        const packed = packEvents(list);
        expect(packed).not.toBeNull();
        expect(unpackEvents(JSON.parse(JSON.stringify(packed)))).toEqual(list);
      }),
    );
  });

  it('keeps the first event whole and, per event, only the fields that vary, under their own keys', () => {
    const list = [1, 2, 3].map((id) => ({
      membership: { group_id: 'g', user_id: id, username: `u${id}`, action: 'added' },
    }));
    expect(packEvents(list)).toEqual({
      first: list[0],
      items: [1, 2, 3].map((id) => ({ membership: { user_id: id, username: `u${id}` } })),
    });
  });

  it('leaves nothing for retirement to miss: a scrub of `username` keys reaches every packed event', () => {
    const list = [1, 2, 3].map((id) => ({
      membership: { group_id: 'g', user_id: id, username: `learner${id}`, action: 'added' },
    }));
    const scrubbed = replaceInJson(JSON.parse(JSON.stringify(packEvents(list))), [
      { from: 'learner2', to: 'retired_user_2' },
    ]);
    expect(JSON.stringify(scrubbed)).not.toContain('learner2');
    expect((unpackEvents(scrubbed as PackedEvents) as typeof list).map((e) => e.membership.username)).toEqual([
      'learner1',
      'retired_user_2',
      'learner3',
    ]);
  });

  it('does not pack events of different shapes: one field fewer, or one more, anywhere', () => {
    fc.assert(
      fc.property(
        events.filter((list) => list.length > 1),
        fc.nat(),
        (list, pick) => {
          const changed = JSON.parse(JSON.stringify(list));
          const target = changed[pick % changed.length].membership;
          const keys = Object.keys(target);
          if (pick % 2) delete target[keys[pick % keys.length]];
          else target[`extra${pick}`] = 1;
          expect(packEvents(changed)).toBeNull();
        },
      ),
    );
  });

  it('does not pack events of different shapes', () => {
    expect(packEvents([{ a: { b: 1 } }, { a: { c: 1 } }])).toBeNull();
    expect(
      packEvents([
        { a: 1, b: 2 },
        { b: 2, a: 1 },
      ]),
    ).toBeNull();
    expect(packEvents([{ a: { b: 1 } }, { a: 1 }])).toBeNull();
  });

  it("derives each event's id from the row's: the same on a second send, distinct within the row, UUID-shaped", () => {
    const row = '4b3c9a0e-1f2d-4e5a-9b8c-7d6e5f4a3b2c';
    const ids = Array.from({ length: 1000 }, (_, i) => packedEventId(row, i));
    expect(new Set(ids).size).toBe(1000);
    expect(packedEventId(row, 7)).toBe(ids[7]);
    expect(packedEventId('another-row', 7)).not.toBe(ids[7]);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
