export interface MysqlConnectionOptions {
  host: string;
  port: number;
  username: string;
  password: string;
}

export function parseMysqlUrl(url: string): MysqlConnectionOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:') throw new Error('MYSQL_URL must start with mysql://');
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 3306),
    username: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password || ''),
  };
}
