import { EventCodec, frame, unframe } from './event-codec';
import { EventCodecError, EventCodecErrorCode } from './event-codec.error';
import { CohortMembershipChangedData } from './event-data';
import { EventType } from './event-types';
import { buildHeaders, newEventMetadata } from './headers';
import { MemorySchemaRegistry } from './schema-registry';
import { eventSchema, keySubject, valueSubject } from './schemas';

const TOPIC = 'learning-cohort-membership';

// Avro binary, written by hand from the schema: long = zig-zag varint, string = zig-zag length + UTF-8,
// boolean = one byte, ["null", T] union = branch index (zig-zag) then the value.
const str = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s) * 2]), Buffer.from(s, 'utf8')]);
const AVRO_BODY = Buffer.concat([
  Buffer.from([0x54]), // cohort.user.id = 42
  Buffer.from([0x01]), // cohort.user.is_active = true
  str('ana'),
  str('ana@example.com'),
  str('Ana Lima'), // cohort.user.pii
  str('course-v1:DemoX+Sync+2026'), // cohort.course.course_key
  str(''), // cohort.course.display_name
  Buffer.from([0x00]),
  Buffer.from([0x00]), // cohort.course.start, end = null (union branch 0)
  str('Section A'), // cohort.name
]);

const DATA: CohortMembershipChangedData = {
  cohort: {
    user: { id: 42, is_active: true, pii: { username: 'ana', email: 'ana@example.com', name: 'Ana Lima' } },
    course: { course_key: 'course-v1:DemoX+Sync+2026', display_name: '', start: null, end: null },
    name: 'Section A',
  },
};

async function registryWithCohortSchema(): Promise<{ registry: MemorySchemaRegistry; id: number }> {
  const registry = new MemorySchemaRegistry();
  const id = await registry.register(
    valueSubject(TOPIC, EventType.CohortMembershipChanged),
    eventSchema(EventType.CohortMembershipChanged) as never,
  );
  return { registry, id };
}

describe('EventCodec', () => {
  it('decodes a COHORT_MEMBERSHIP_CHANGED value written field by field with Confluent framing', async () => {
    const { registry, id } = await registryWithCohortSchema();
    const value = Buffer.concat([Buffer.from([0, 0, 0, 0, id]), AVRO_BODY]);
    const headers = buildHeaders(
      newEventMetadata(EventType.CohortMembershipChanged, 'lms', { id: '2f5a5e1c-0000-4000-8000-000000000001' }),
    );

    const event = await new EventCodec(registry).decode(value, headers);

    expect(event.type).toBe(EventType.CohortMembershipChanged);
    expect(event.metadata.id).toBe('2f5a5e1c-0000-4000-8000-000000000001');
    expect(event.data).toEqual(DATA);
  });

  it('encodes to the same bytes the LMS would write, under the topic-record subject', async () => {
    const { registry, id } = await registryWithCohortSchema();
    const message = await new EventCodec(registry).encode(
      EventType.CohortMembershipChanged,
      DATA,
      newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
    );

    expect(message.topic).toBe(TOPIC);
    expect(message.value).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, id]), AVRO_BODY]));
    expect(registry.subjects.get(`${TOPIC}-org.openedx.learning.cohort_membership.changed.v1.CloudEvent`)).toEqual([
      id,
    ]);
  });

  it('encodes the key as event-bus-kafka does: the Avro string of the key field, framed, under <topic>-string', async () => {
    const registry = new MemorySchemaRegistry();
    const message = await new EventCodec(registry).encode(
      EventType.CohortMembershipChanged,
      DATA,
      newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
    );
    const [keyId] = registry.subjects.get(keySubject(TOPIC, EventType.CohortMembershipChanged))!;

    expect(keySubject(TOPIC, EventType.CohortMembershipChanged)).toBe(`${TOPIC}-string`);
    expect(message.key).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, keyId]), str('course-v1:DemoX+Sync+2026')]));
    expect(await registry.schemaById(keyId)).toEqual({ name: 'course_key', type: 'string' });
  });

  it('prefixes topics like event-bus-kafka', () => {
    expect(new EventCodec(new MemorySchemaRegistry(), 'prod').topicFor(EventType.CohortMembershipChanged)).toBe(
      `prod-${TOPIC}`,
    );
  });

  it('round-trips one of our events, key included', async () => {
    const codec = new EventCodec(new MemorySchemaRegistry(), 'x');
    const data = {
      membership: {
        group_id: 'g-1',
        scope_type: 'course',
        scope_key: 'course-v1:A+B+C',
        user_id: 7,
        username: 'ben',
        action: 'added' as const,
        origin: 'api' as const,
        occurred_at: '2026-11-22T05:00:00.000000+00:00',
        moved_to_group_id: null,
        legacy_linked: false,
      },
    };
    const message = await codec.encode(
      EventType.UserGroupMembershipChanged,
      data,
      newEventMetadata(EventType.UserGroupMembershipChanged, 'groups-service'),
    );
    const event = await codec.decode(message.value, message.headers, message.key);
    expect(event.data).toEqual(data);
    // Keyed by scope, so one learner's changes in a course stay in order across its groups.
    expect(event.key).toBe('course-v1:A+B+C');
  });

  it("round-trips the LMS's login and grade events on their topics, keyed by username and by course", async () => {
    const codec = new EventCodec(new MemorySchemaRegistry());
    const login = { user: DATA.cohort.user };
    const grade = {
      grade: {
        user_id: 42,
        course: DATA.cohort.course,
        course_edited_timestamp: '',
        course_version: '',
        grading_policy_hash: '',
        percent_grade: 0.85,
        letter_grade: 'Pass',
        passed_timestamp: '2026-11-22T05:00:00.000000+00:00',
      },
    };
    const sentLogin = await codec.encode(
      EventType.SessionLoginCompleted,
      login,
      newEventMetadata(EventType.SessionLoginCompleted, 'lms'),
    );
    const sentGrade = await codec.encode(
      EventType.PersistentGradeSummaryChanged,
      grade,
      newEventMetadata(EventType.PersistentGradeSummaryChanged, 'lms'),
    );
    expect([sentLogin.topic, sentGrade.topic]).toEqual(['user-login', 'learning-course-grade-lifecycle']);
    const [loginEvent, gradeEvent] = await Promise.all(
      [sentLogin, sentGrade].map((m) => codec.decode(m.value, m.headers, m.key)),
    );
    expect({ data: loginEvent.data, key: loginEvent.key }).toEqual({ data: login, key: 'ana' });
    expect({ data: gradeEvent.data, key: gradeEvent.key }).toEqual({ data: grade, key: 'course-v1:DemoX+Sync+2026' });
  });

  it.each([
    [
      'an unknown ce_type',
      { ce_type: 'org.example.nope.v1', ce_id: 'a' },
      Buffer.from([0, 0, 0, 0, 1, 0]),
      EventCodecErrorCode.UnknownEventType,
    ],
    [
      'a missing ce_id',
      { ce_type: EventType.CohortMembershipChanged },
      Buffer.from([0, 0, 0, 0, 1]),
      EventCodecErrorCode.MissingHeader,
    ],
    [
      'a value without magic byte',
      { ce_type: EventType.CohortMembershipChanged, ce_id: 'a' },
      Buffer.from('{"json": true}'),
      EventCodecErrorCode.BadFraming,
    ],
    [
      'a schema id the registry does not know',
      { ce_type: EventType.CohortMembershipChanged, ce_id: 'a' },
      Buffer.from([0, 0, 0, 0, 99, 1]),
      EventCodecErrorCode.UnknownSchema,
    ],
    [
      'truncated Avro',
      { ce_type: EventType.CohortMembershipChanged, ce_id: 'a' },
      null,
      EventCodecErrorCode.UndecodableValue,
    ],
  ])('refuses %s with a reason', async (_name, headers, value, code) => {
    const { registry, id } = await registryWithCohortSchema();
    const bytes = value ?? Buffer.concat([Buffer.from([0, 0, 0, 0, id]), AVRO_BODY.subarray(0, 10)]);
    const error = await new EventCodec(registry).decode(bytes, headers).catch((e) => e);
    expect(error).toBeInstanceOf(EventCodecError);
    expect(error.code).toBe(code);
  });

  it('refuses to encode data that does not match the schema, naming the field', async () => {
    const bad = { cohort: { ...DATA.cohort, user: { ...DATA.cohort.user, id: 'forty-two' } } } as never;
    await expect(
      new EventCodec(new MemorySchemaRegistry()).encode(
        EventType.CohortMembershipChanged,
        bad,
        newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
      ),
    ).rejects.toThrow(/cohort\.user\.id/);
  });
});

describe('EventCodec and event-bus-redis entries (schemaless Avro)', () => {
  const codec = new EventCodec(new MemorySchemaRegistry());

  it('writes the event data as event-bus-redis does: the same Avro, no magic byte, no schema id', () => {
    expect(codec.encodeSchemaless(EventType.CohortMembershipChanged, DATA)).toEqual(AVRO_BODY);
  });

  it("reads an entry's event data with the bundled schema, and refuses trailing bytes or an unknown type", () => {
    const metadata = newEventMetadata(EventType.CohortMembershipChanged, 'lms');
    expect(codec.decodeSchemaless(metadata, AVRO_BODY).data).toEqual(DATA);
    expect(() => codec.decodeSchemaless(metadata, Buffer.concat([AVRO_BODY, Buffer.from([1])]))).toThrow(
      expect.objectContaining({ code: EventCodecErrorCode.UndecodableValue }),
    );
    expect(() => codec.decodeSchemaless({ ...metadata, type: 'org.example.unknown.v1' }, AVRO_BODY)).toThrow(
      expect.objectContaining({ code: EventCodecErrorCode.UnknownEventType }),
    );
  });

  it('decodes a dead-lettered entry replayed through Kafka by its value_framing header, not by guessing from its first byte', async () => {
    const headers = {
      ...buildHeaders(newEventMetadata(EventType.CohortMembershipChanged, 'lms')),
      value_framing: 'schemaless',
    };
    expect((await codec.decode(AVRO_BODY, headers)).data).toEqual(DATA);
    // Without the header it is read as Confluent-framed, and this value is not.
    await expect(codec.decode(AVRO_BODY, { ...headers, value_framing: undefined })).rejects.toThrow(EventCodecError);
  });
});

describe('Confluent framing', () => {
  it('puts magic byte 0 and a 4-byte big-endian schema id in front', () => {
    expect(frame(258, Buffer.from([9]))).toEqual(Buffer.from([0, 0, 0, 1, 2, 9]));
    expect(unframe(Buffer.from([0, 0, 0, 1, 2, 9]))).toEqual({ schemaId: 258, payload: Buffer.from([9]) });
  });
});
