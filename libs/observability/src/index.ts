export * from './bootstrap';
export * from './health.controller';
export * from './operations-server';
export * from './observability.module';
export * from './domain-exception';
export * from './domain-exception.filter';
export * from './personal-data';
export * from './metric';
