import { DataSource } from 'typeorm';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { dataSourceOptions, dropDatabase, ensureDatabase } from './database';
import { insertJsonRows } from './json-rows';

const env = stackEnv();

describe('insertJsonRows', () => {
  const database = `jsonrows_${uniqueSuffix()}_test`;
  let dataSource: DataSource;

  beforeAll(async () => {
    const flavor = await ensureDatabase(env.MYSQL_URL, database);
    dataSource = await new DataSource(
      dataSourceOptions({ url: env.MYSQL_URL, database, flavor, entities: [], migrations: [], poolSize: 2 }),
    ).initialize();
    await dataSource.query(`CREATE TABLE row_sink (
      id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, group_id CHAR(36) NOT NULL, \`trigger\` VARCHAR(16) NOT NULL, at DATETIME(6) NOT NULL,
      user_id BIGINT NULL, username VARCHAR(150) NULL, details LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL CHECK (JSON_VALID(details))
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(env.MYSQL_URL, database);
  });

  it('writes every row as given, in order: nulls, big ids, any Unicode and JSON text intact, shared values on each', async () => {
    const at = new Date('2026-11-29T10:11:12.345Z');
    const rows: unknown[][] = [
      [9_007_199_254_740_991, 'José 😀 ü', '{"origin":"criteria"}'],
      [null, 'a"b\\c\'d', '{"moved_to_group_id":null,"x":[1,"two"]}'],
      [3, null, '{}'],
    ];
    await insertJsonRows(
      dataSource.manager,
      'row_sink',
      { group_id: 'g-1', trigger: 'schedule', at },
      [
        ['user_id', 'BIGINT'],
        ['username', 'TEXT'],
        ['details', 'LONGTEXT'],
      ],
      rows,
    );
    const read = await dataSource.query(
      'SELECT group_id, `trigger`, at, CAST(user_id AS CHAR) AS user_id, username, details FROM row_sink ORDER BY id',
    );
    expect(
      read.map((r: Record<string, unknown>) => [
        r.user_id === null ? null : Number(r.user_id),
        r.username,
        JSON.parse(String(r.details)),
      ]),
    ).toEqual(rows.map(([id, name, details]) => [id, name, JSON.parse(String(details))]));
    for (const r of read)
      expect({ group_id: r.group_id, trigger: r.trigger, at: (r.at as Date).toISOString() }).toEqual({
        group_id: 'g-1',
        trigger: 'schedule',
        at: at.toISOString(),
      });
  });

  it('writes nothing for no rows, and fails a row the column rejects instead of storing it cut or invalid', async () => {
    const before = Number((await dataSource.query('SELECT COUNT(*) AS n FROM row_sink'))[0].n);
    const same = { group_id: 'g-2', trigger: 'user', at: new Date() };
    await insertJsonRows(dataSource.manager, 'row_sink', same, [['user_id', 'BIGINT']], []);
    await expect(
      insertJsonRows(
        dataSource.manager,
        'row_sink',
        same,
        [
          ['user_id', 'BIGINT'],
          ['details', 'LONGTEXT'],
        ],
        [[1, 'not json']],
      ),
    ).rejects.toThrow(/CONSTRAINT|check/i);
    await expect(
      insertJsonRows(
        dataSource.manager,
        'row_sink',
        same,
        [
          ['user_id', 'BIGINT'],
          ['username', 'TEXT'],
        ],
        [[1, 'u'.repeat(151)]],
      ),
    ).rejects.toThrow(/too long/i);
    expect(Number((await dataSource.query('SELECT COUNT(*) AS n FROM row_sink'))[0].n)).toBe(before);
  });
});
