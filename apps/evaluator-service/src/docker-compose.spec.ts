import { loadConfig } from '@groups-sync/config';
import { composeContainerPorts, composeEnvironment } from '@groups-sync/testing';
import { EvaluatorServiceConfig } from './evaluator-service.config';

describe('docker-compose.yml for evaluator-service', () => {
  const env = composeEnvironment('evaluator-service');

  it('sets only variables the service reads, with values it accepts', () => {
    const known = Object.keys(new EvaluatorServiceConfig());
    expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
    expect(() => loadConfig(EvaluatorServiceConfig, env)).not.toThrow();
  });

  it('publishes the port the service listens on', () => {
    expect(composeContainerPorts('evaluator-service')).toEqual([loadConfig(EvaluatorServiceConfig, env).PORT]);
  });
});
