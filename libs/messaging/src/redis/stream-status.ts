import { Inject, Injectable } from '@nestjs/common';
import { fullTopicName, isLmsTopic } from '@groups-sync/contracts';
import { MESSAGING_OPTIONS, MessagingOptions } from '../messaging.options';
import { connectRedis, infoReply } from './redis-connection';
import { StreamGap } from './stream-consumer';

/** The Redis hash where stream readers record the last gap of each group and stream, for `ugsync status`. */
export function streamGapsKey(prefix?: string | null): string {
  return fullTopicName('groups-sync:stream-gaps', prefix);
}

/** The LMS's Redis streams as operators see them: each group's backlog and the last gap found. */
@Injectable()
export class StreamStatus {
  constructor(@Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions) {}

  get enabled(): boolean {
    return (this.options.lmsEventBus ?? 'kafka') !== 'kafka' && !!this.options.redisUrl;
  }

  /** Per group and stream: entries not yet delivered (`lag`), delivered but unacknowledged (`pending`); and the gaps recorded. */
  async read(
    readers: Record<string, string[]>,
  ): Promise<{ lag: Record<string, Record<string, number | null>>; gaps: StreamGap[] }> {
    if (!this.enabled) return { lag: {}, gaps: [] };
    const redis = connectRedis(this.options.redisUrl!, 'status');
    try {
      await redis.connect();
      const prefix = this.options.topicPrefix;
      const lag: Record<string, Record<string, number | null>> = {};
      for (const [group, topics] of Object.entries(readers)) {
        for (const topic of topics.filter((t) => isLmsTopic(t as never))) {
          const stream = fullTopicName(topic, prefix);
          const groups = await redis.xinfo('GROUPS', stream).catch(() => [] as unknown[]);
          const info = (groups as unknown[]).map(infoReply).find((g) => g.name === fullTopicName(group, prefix));
          if (!info) continue;
          (lag[group] ??= {})[stream] =
            info.lag === null || info.lag === undefined ? null : Number(info.lag) + Number(info.pending ?? 0);
        }
      }
      const recorded = await redis.hvals(streamGapsKey(prefix));
      return { lag, gaps: recorded.map((g) => JSON.parse(g) as StreamGap).sort((a, b) => b.at.localeCompare(a.at)) };
    } finally {
      redis.disconnect();
    }
  }
}
