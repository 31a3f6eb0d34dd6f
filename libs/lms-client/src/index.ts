export * from './lms-api.client';
export * from './lms-api.error';
export * from './lms-client.config';
