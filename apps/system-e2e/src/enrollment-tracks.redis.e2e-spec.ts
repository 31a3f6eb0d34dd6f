// The same tests with the LMS publishing to Redis streams (event-bus-redis, as Tutor configures it).
process.env.E2E_LMS_EVENT_BUS = 'redis';
require('./enrollment-tracks.e2e-spec');
