import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { freePort } from './free-port';
import { stopChild } from './stop-child';

const CACHE = resolve(__dirname, '../../../.cache');
/** The jars scripts/infra.sh resolved from Maven Central for the shared broker. */
const KAFKA_LIBS = join(CACHE, 'kafka', 'libs');

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      done(true);
    });
    socket.on('error', () => done(false));
  });
}

/**
 * A KRaft broker of a test's own, on free ports with its data under `.cache/`: for a test that
 * stops and restarts the broker (every other suite shares the one scripts/infra.sh started, so this
 * one can run beside them). `stop()` then `startServer()` keeps the data and the ports, as a broker
 * host that reboots does. The JVM is tuned for a short life: C1 only and the serial collector, less
 * CPU at start.
 */
export class PrivateKafka {
  private server?: ChildProcess;

  private constructor(
    private readonly home: string,
    readonly port: number,
    private readonly controllerPort: number,
  ) {}

  /** A new broker under `.cache/private-kafka/<pid>-<time>-<name>` (removed by `remove()`). */
  static async start(name: string): Promise<PrivateKafka> {
    if (!existsSync(KAFKA_LIBS))
      throw new Error(`no Kafka jars in ${KAFKA_LIBS}: run scripts/infra.sh up (npm test does)`);
    const home = join(CACHE, 'private-kafka', `${process.pid}-${Date.now()}-${name}`);
    const broker = new PrivateKafka(home, await freePort(), await freePort());
    try {
      broker.configure();
      await broker.startServer();
    } catch (error) {
      await broker.remove();
      throw error;
    }
    return broker;
  }

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Started and not exited since. */
  get running(): boolean {
    return !!this.server && this.server.exitCode === null && this.server.signalCode === null;
  }

  /** Starts it again on the same ports and data; nothing when it runs already. */
  async startServer(): Promise<void> {
    if (this.running) return;
    const log = join(this.home, 'server.log');
    const server = spawn(
      'java',
      [
        '-Xms64m',
        '-Xmx384m',
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-Djava.awt.headless=true',
        `-Dkafka.logs.dir=${this.home}`,
        `-Dlog4j.configuration=file:${join(this.home, 'log4j.properties')}`,
        '-cp',
        `${KAFKA_LIBS}/*`,
        'kafka.Kafka',
        join(this.home, 'server.properties'),
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    this.server = server;
    for (const started = Date.now(); Date.now() - started < 90_000;) {
      if (server.exitCode !== null)
        throw new Error(`Kafka on port ${this.port} exited (${server.exitCode}); see ${log}`);
      if (await answers(this.port)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`Kafka on port ${this.port} did not answer within 90 s; see ${log}`);
  }

  /** Shuts the broker down (a controlled shutdown; SIGKILL after 20 s) and waits until it is gone. */
  async stop(): Promise<void> {
    await stopChild(this.server, 20_000);
  }

  /** Stops it and deletes its data. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.home, { recursive: true, force: true });
  }

  /** The shared broker's settings (scripts/infra.sh), on this broker's ports, and its storage formatted. */
  private configure(): void {
    const data = join(this.home, 'data');
    mkdirSync(data, { recursive: true });
    writeFileSync(
      join(this.home, 'server.properties'),
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${this.controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${data}`,
        'auto.create.topics.enable=false',
        'num.partitions=3',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=3',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(this.home, 'log4j.properties'),
      [
        'log4j.rootLogger=WARN, file',
        'log4j.appender.file=org.apache.log4j.FileAppender',
        `log4j.appender.file.File=${join(this.home, 'server.log')}`,
        'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
        '',
      ].join('\n'),
    );
    // KRaft needs its storage formatted with a cluster id: 16 random bytes, base64url as Kafka's Uuid.
    // The meta.properties StorageTool would write, without a second JVM start.
    writeFileSync(
      join(data, 'meta.properties'),
      [
        'version=1',
        'node.id=1',
        `cluster.id=${randomBytes(16).toString('base64url')}`,
        `directory.id=${randomBytes(16).toString('base64url')}`,
        '',
      ].join('\n'),
    );
  }
}
