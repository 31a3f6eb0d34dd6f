import { LmsHttpError } from '../lms-http.error';
import { EventFaults } from './event-faults';

describe('event faults', () => {
  it('match learners by username whatever the case, and only those named', () => {
    const faults = new EventFaults();
    faults.set({ drop_events_for: ['Ana'], rollback_after_emit_for: ['BEN'], fail_adds_for: ['Cy'] });
    expect([faults.dropsEventOf('ana'), faults.dropsEventOf('ANA'), faults.dropsEventOf('ben')]).toEqual([
      true,
      true,
      false,
    ]);
    expect([faults.rollsBackAfterEmit('ben'), faults.rollsBackAfterEmit('ana')]).toEqual([true, false]);
    expect([faults.failsAdd('CY'), faults.failsAdd('ana')]).toEqual([true, false]);
  });

  it('drop a share of events at random: none at 0, all at 1', () => {
    const faults = new EventFaults();
    faults.set({ drop_events_share: 0 });
    expect(Array.from({ length: 200 }, () => faults.dropsEventOf('x')).some(Boolean)).toBe(false);
    faults.set({ drop_events_share: 1 });
    expect(Array.from({ length: 200 }, () => faults.dropsEventOf('x')).every(Boolean)).toBe(true);
  });

  it('are replaced whole by a PUT and cleared by DELETE', () => {
    const faults = new EventFaults();
    faults.set({ drop_events_for: ['a'], drop_events_share: 0.5 });
    expect(faults.set({ rollback_after_emit_for: ['b'] })).toEqual({
      drop_events_share: 0,
      drop_events_for: [],
      rollback_after_emit_for: ['b'],
      fail_adds_for: [],
    });
    faults.clear();
    expect(faults.get()).toEqual({
      drop_events_share: 0,
      drop_events_for: [],
      rollback_after_emit_for: [],
      fail_adds_for: [],
    });
  });

  it.each([
    [{ drop_events_share: 1.5 }],
    [{ drop_events_share: -0.1 }],
    [{ drop_events_share: '0.5' }],
    [{ drop_events_for: 'ana' }],
    [{ rollback_after_emit_for: [1] }],
  ])('refuses %j with 400 and keeps the settings it had', (body) => {
    const faults = new EventFaults();
    faults.set({ drop_events_for: ['kept'] });
    const refused = (() => {
      try {
        faults.set(body);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(LmsHttpError);
    expect((refused as LmsHttpError).status).toBe(400);
    expect(faults.get().drop_events_for).toEqual(['kept']);
  });
});
