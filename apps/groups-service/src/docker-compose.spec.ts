import { loadConfig } from '@groups-sync/config';
import { composeContainerPorts, composeEnvironment } from '@groups-sync/testing';
import { GroupsServiceConfig } from './groups-service.config';

describe('docker-compose.yml for groups-service', () => {
  const env = composeEnvironment('groups-service');

  it('sets only variables the service reads, with values it accepts', () => {
    const known = Object.keys(new GroupsServiceConfig());
    expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
    expect(() => loadConfig(GroupsServiceConfig, env)).not.toThrow();
  });

  it('publishes the port the service listens on', () => {
    expect(composeContainerPorts('groups-service')).toEqual([loadConfig(GroupsServiceConfig, env).PORT]);
  });
});
