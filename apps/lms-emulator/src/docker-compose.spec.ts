import { loadConfig } from '@groups-sync/config';
import { composeContainerPorts, composeEnvironment } from '@groups-sync/testing';
import { LmsEmulatorConfig } from './lms-emulator.config';

describe('docker-compose.yml for lms-emulator', () => {
  const env = composeEnvironment('lms-emulator');

  it('sets only variables the service reads, with values it accepts', () => {
    const known = Object.keys(new LmsEmulatorConfig());
    expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
    expect(() => loadConfig(LmsEmulatorConfig, env)).not.toThrow();
  });

  it('publishes the port the service listens on', () => {
    expect(composeContainerPorts('lms-emulator')).toEqual([loadConfig(LmsEmulatorConfig, env).PORT]);
  });
});
