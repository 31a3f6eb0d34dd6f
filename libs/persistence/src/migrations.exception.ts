export enum MigrationsErrorCode {
  /** The schema has no migrations table: the migrate step never ran on it. */
  SCHEMA_NOT_MIGRATED = 'SCHEMA_NOT_MIGRATED',
  /** Migrations this code knows have not run: the migrate step of this version has not run yet. */
  MIGRATIONS_PENDING = 'MIGRATIONS_PENDING',
}

/** A service started with DB_MIGRATIONS_RUN=false on a schema older than its code. */
export class MigrationsException extends Error {
  constructor(
    readonly code: MigrationsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MigrationsException';
  }
}
