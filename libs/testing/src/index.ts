export * from './docker-compose';
export * from './expect-eventually';
export * from './http';
export * from './http-routes';
export * from './rows-containing';
export * from './service-process';
export * from './stack-env';
export * from './table-checksums';
