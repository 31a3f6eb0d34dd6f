export * from './event-codec';
export * from './event-codec.error';
export * from './event-data';
export * from './event-types';
export * from './headers';
export * from './schema-registry';
export * from './schemas';
export * from './topics';
