// Drops the named databases of this product (used by `stack.sh reset`). Development only.
import { createConnection } from 'mysql2/promise';
import { parseMysqlUrl } from '@groups-sync/persistence';

async function main(): Promise<void> {
  const conn = parseMysqlUrl(process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306');
  const db = await createConnection({ host: conn.host, port: conn.port, user: conn.username, password: conn.password });
  for (const name of process.argv.slice(2)) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) throw new Error(`bad database name ${name}`);
    await db.query(`DROP DATABASE IF EXISTS \`${name}\``);
    console.log(`dropped ${name}`);
  }
  await db.end();
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
