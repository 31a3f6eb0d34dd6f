import { Logger } from '@nestjs/common';
import { createLocalJWKSet, errors, FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters, KeyLike } from 'jose';
import { AuthErrorCode, AuthException } from './auth.exception';

export interface RemoteKeySetOptions {
  /** Keys older than this are refreshed in the background; the old ones serve meanwhile. */
  refreshAfterMs?: number;
  /** The least time between two fetches a request sets off (old keys, no keys yet, an unknown kid): a down URL is not hammered. */
  cooldownMs?: number;
  timeoutMs?: number;
}

const DEFAULTS: Required<RemoteKeySetOptions> = { refreshAfterMs: 5 * 60_000, cooldownMs: 30_000, timeoutMs: 5000 };

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * The key set at JWT_JWKS_URL, kept: a request never waits on the network while good keys are known
 * (jose's remote set makes every request wait, then fail, once its cache is old and the URL is down).
 * The last good set serves until a fetch brings a new one; an unknown kid asks for one fetch per cooldown.
 */
export class RemoteKeySet {
  private readonly logger = new Logger('JwtVerifier');
  private readonly options: Required<RemoteKeySetOptions>;
  private keys: LocalKeySet | null = null;
  private fetchedAt = 0;
  private lastAttemptAt = -Infinity;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly url: URL,
    options: RemoteKeySetOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** A jose `JWTVerifyGetKey`. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<KeyLike | Uint8Array> => {
    if (!this.keys) {
      await this.refreshAtMostOncePerCooldown();
      if (!this.keys)
        throw new AuthException(
          AuthErrorCode.KeysUnavailable,
          'the JWT signing keys could not be fetched; try again later',
        );
    }
    if (Date.now() - this.fetchedAt > this.options.refreshAfterMs) void this.refreshAtMostOncePerCooldown();
    try {
      return await this.keys(header, token);
    } catch (e) {
      // A kid we do not know may be a key the LMS rotated in: one fetch, then the token's fault.
      if (!(e instanceof errors.JWKSNoMatchingKey)) throw e;
      await this.refreshAtMostOncePerCooldown();
      return this.keys(header, token);
    }
  };

  private refreshAtMostOncePerCooldown(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (Date.now() - this.lastAttemptAt < this.options.cooldownMs) return Promise.resolve();
    return this.refresh();
  }

  /** Never rejects: a failed fetch keeps the last good keys. One fetch at a time. */
  private refresh(): Promise<void> {
    this.inFlight ??= this.fetchKeys().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttemptAt = Date.now();
    try {
      const res = await fetch(this.url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
      const body = (await res.json()) as JSONWebKeySet;
      this.keys = createLocalJWKSet(body);
      this.fetchedAt = Date.now();
    } catch (e) {
      const kept = this.keys ? '; verifying with the keys fetched before' : '';
      this.logger.warn(
        `fetching the JWT signing keys from ${this.url.origin}${this.url.pathname} failed: ${(e as Error).message}${kept}`,
      );
    }
  }
}
