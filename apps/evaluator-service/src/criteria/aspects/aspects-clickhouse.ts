import { OnApplicationShutdown } from '@nestjs/common';
import { ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { EvaluatorServiceConfig } from '../../evaluator-service.config';

/** Where ids come from: a query whose rows are `{ id }`, ascending. */
export interface IdSource {
  ids(sql: string): AsyncGenerator<number>;
}

export interface AspectsClickHouseOptions {
  url: string;
  username: string;
  password?: string;
  database: string;
}

/**
 * Aspects' ClickHouse over its HTTP interface. A result is streamed (JSONEachRow), a row at a time
 * as the evaluator reads it, never collected; a stream left early is closed, freeing its socket.
 */
export class AspectsClickHouse implements IdSource, OnApplicationShutdown {
  private readonly client: ClickHouseClient;

  constructor(options: AspectsClickHouseOptions) {
    this.client = createClient({
      url: options.url,
      username: options.username,
      password: options.password ?? '',
      database: options.database,
      application: 'openedx-groups-sync-evaluator',
      // An idle socket times out: the stream is read at the pace of the LMS's query it is merged with.
      request_timeout: 300_000,
      // Its errors reach the caller (and the group's last_error); the client's own console log would repeat them.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  /** The client the config describes; null when ASPECTS_CLICKHOUSE_URL is unset. */
  static fromConfig(config: EvaluatorServiceConfig): AspectsClickHouse | null {
    if (!config.ASPECTS_CLICKHOUSE_URL) return null;
    return new AspectsClickHouse({
      url: config.ASPECTS_CLICKHOUSE_URL,
      username: config.ASPECTS_CLICKHOUSE_USER,
      password: config.ASPECTS_CLICKHOUSE_PASSWORD,
      database: config.ASPECTS_CLICKHOUSE_DATABASE,
    });
  }

  async *ids(sql: string): AsyncGenerator<number> {
    // Errors are plain (no connection code): an Aspects outage fails the groups that need it, it does
    // not hold every refresh behind it as a replica outage does.
    const result = await this.client.query({ query: sql, format: 'JSONEachRow' }).catch((error: Error) => {
      throw new Error(`Aspects ClickHouse: ${error.message}`);
    });
    try {
      for await (const rows of result.stream<{ id: number | string }>())
        for (const row of rows) yield Number(row.json().id);
    } catch (error) {
      throw new Error(`Aspects ClickHouse: ${(error as Error).message}`);
    } finally {
      result.close();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
