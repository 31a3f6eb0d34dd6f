export * from './criterion-types';
export * from './validate-criterion';
