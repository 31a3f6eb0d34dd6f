import { modesOfTrack, trackOf, trackRefusal } from './enrollment-tracks';

describe("enrollment tracks, as edx-platform's partition scheme places learners", () => {
  it("puts an active enrollment in its mode's track, credit in verified, and an inactive one in none", () => {
    expect(trackOf('audit', true)).toBe('audit');
    expect(trackOf('verified', true)).toBe('verified');
    expect(trackOf('credit', true)).toBe('verified');
    expect(trackOf('verified', false)).toBeNull();
    expect(modesOfTrack('verified')).toEqual(['verified', 'credit']);
    expect(modesOfTrack('masters')).toEqual(['masters']);
  });

  it('refuses a credit track (there is no such group)', () => {
    expect(trackRefusal('credit')).toContain('verified');
    expect(trackRefusal('audit')).toBeNull();
  });
});
