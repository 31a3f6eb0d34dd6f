// The order suites start in: the longest first, so that no long suite starts last and runs on alone
// while the other workers idle. Jest's own order does that from the durations of earlier runs, but
// a clean checkout has none and Jest then goes by file size alone, which can start a 70-second
// integration suite after every short end-to-end one. Without durations, end-to-end suites (each
// boots the services as processes) come first, larger files first within a tier.
const Sequencer = require('@jest/test-sequencer').default;
const fs = require('fs');
const { tierOf } = require('../jest.preset');

const endToEnd = (test) => (tierOf(test.path) === 'e2e' ? 1 : 0);
const size = (test) => fs.statSync(test.path, { throwIfNoEntry: false })?.size ?? 0;

class LongestFirst extends Sequencer {
  sort(tests) {
    const duration = new Map(tests.map((t) => [t, this.time(t)]));
    return [...tests].sort((a, b) => {
      const [da, db] = [duration.get(a), duration.get(b)];
      if (da != null && db != null) return db - da;
      return endToEnd(b) - endToEnd(a) || size(b) - size(a);
    });
  }
}

module.exports = LongestFirst;
