export * from './database';
export * from './database-errors';
export * from './mysql-url';
export * from './transaction';
export * from './database.module';
export * from './prune';
export * from './scrub';
export * from './migration-lock';
