import { loadConfig } from '@groups-sync/config';
import { composeContainerPorts, composeEnvironment } from '@groups-sync/testing';
import { LegacySyncServiceConfig } from './legacy-sync-service.config';

describe('docker-compose.yml for legacy-sync-service', () => {
  const env = composeEnvironment('legacy-sync-service');

  it('sets only variables the service reads, with values it accepts', () => {
    const known = Object.keys(new LegacySyncServiceConfig());
    expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
    expect(() => loadConfig(LegacySyncServiceConfig, env)).not.toThrow();
  });

  it('publishes the port the service listens on', () => {
    expect(composeContainerPorts('legacy-sync-service')).toEqual([loadConfig(LegacySyncServiceConfig, env).PORT]);
  });
});
