// The same tests with the LMS publishing to Redis streams: one reader per stream and group, the
// survivor of a kill -9 takes the dead one's streams and pending entries over.
process.env.E2E_LMS_EVENT_BUS = 'redis';
require('./multi-instance.e2e-spec');
