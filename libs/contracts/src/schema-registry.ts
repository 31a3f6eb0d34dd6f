import * as avro from 'avsc';

/** The part of a Confluent-compatible registry the codec needs; `MemorySchemaRegistry` stands in for unit tests. */
export interface SchemaRegistryClient {
  /** Registers (or finds) the schema under the subject and returns its global id. */
  register(subject: string, schema: avro.Schema): Promise<number>;
  /** The writer schema behind a global id. */
  schemaById(id: number): Promise<avro.Schema>;
}

export class SchemaRegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'SchemaRegistryHttpError';
  }
}

/**
 * Client for the Confluent Schema Registry REST API (also served by Apicurio's ccompat API).
 * Written against the two endpoints we need rather than using @kafkajs/confluent-schema-registry,
 * which refuses schemas that are not named records, while event-bus-kafka registers primitive key
 * schemas such as `{"name": "course_key", "type": "string"}`.
 */
export class ConfluentSchemaRegistry implements SchemaRegistryClient {
  private readonly ids = new Map<string, Promise<number>>();
  private readonly schemas = new Map<number, Promise<avro.Schema>>();
  /** Schema objects are shared and immutable: serialise each once, not on every publish. */
  private readonly texts = new WeakMap<object, string>();

  private readonly timeoutMs: number;
  private readonly authorization?: string;

  /** `auth`: HTTP basic auth, as event-bus-kafka sends `basic.auth.user.info` (API key and secret). */
  constructor(
    private readonly url: string,
    options: { timeoutMs?: number; auth?: { key: string; secret: string } } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    if (options.auth)
      this.authorization = `Basic ${Buffer.from(`${options.auth.key}:${options.auth.secret}`).toString('base64')}`;
  }

  register(subject: string, schema: avro.Schema): Promise<number> {
    let text = typeof schema === 'object' ? this.texts.get(schema as object) : undefined;
    if (text === undefined) {
      text = JSON.stringify(schema);
      if (typeof schema === 'object') this.texts.set(schema as object, text);
    }
    const cacheKey = `${subject}\n${text}`;
    let id = this.ids.get(cacheKey);
    if (!id) {
      id = this.request<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
        schema: text,
        schemaType: 'AVRO',
      }).then((r) => r.id);
      id.catch(() => this.ids.delete(cacheKey)); // a failed registration is tried again next time
      this.ids.set(cacheKey, id);
    }
    return id;
  }

  schemaById(id: number): Promise<avro.Schema> {
    let schema = this.schemas.get(id);
    if (!schema) {
      schema = this.request<{ schema: string }>('GET', `/schemas/ids/${id}`).then(
        (r) => JSON.parse(r.schema) as avro.Schema,
      );
      schema.catch(() => this.schemas.delete(id));
      this.schemas.set(id, schema);
    }
    return schema;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url.replace(/\/$/, '')}${path}`, {
      method,
      headers: {
        'content-type': 'application/vnd.schemaregistry.v1+json',
        accept: 'application/vnd.schemaregistry.v1+json, application/json',
        ...(this.authorization ? { authorization: this.authorization } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) {
      let code: number | undefined;
      let message = text;
      try {
        const parsed = JSON.parse(text) as { error_code?: number; message?: string };
        code = parsed.error_code;
        message = parsed.message ?? text;
      } catch {
        /* not JSON */
      }
      throw new SchemaRegistryHttpError(
        res.status,
        code,
        `schema registry ${method} ${path}: ${res.status} ${message}`,
      );
    }
    return JSON.parse(text) as T;
  }
}

/** An in-process registry with the same semantics (global ids, one id per distinct schema). */
export class MemorySchemaRegistry implements SchemaRegistryClient {
  private readonly byId = new Map<number, avro.Schema>();
  private readonly byText = new Map<string, number>();
  readonly subjects = new Map<string, number[]>();

  async register(subject: string, schema: avro.Schema): Promise<number> {
    const text = JSON.stringify(schema);
    let id = this.byText.get(text);
    if (id === undefined) {
      id = this.byId.size + 1;
      this.byText.set(text, id);
      this.byId.set(id, schema);
    }
    const ids = this.subjects.get(subject) ?? [];
    if (!ids.includes(id)) this.subjects.set(subject, [...ids, id]);
    return id;
  }

  async schemaById(id: number): Promise<avro.Schema> {
    const schema = this.byId.get(id);
    if (!schema) throw new SchemaRegistryHttpError(404, 40403, `schema ${id} not found`);
    return schema;
  }
}
