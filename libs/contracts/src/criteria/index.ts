export * from './criterion-types';
export * from './validate-criterion';
export * from './criterion-announcement';
