export * from './criterion-plugin';
