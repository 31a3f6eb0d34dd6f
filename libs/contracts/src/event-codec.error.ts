/** Why a message could not be turned into an event. Each reason dead-letters the message. */
export enum EventCodecErrorCode {
  MissingHeader = 'MISSING_HEADER',
  UnknownEventType = 'UNKNOWN_EVENT_TYPE',
  BadFraming = 'BAD_FRAMING',
  UnknownSchema = 'UNKNOWN_SCHEMA',
  UndecodableValue = 'UNDECODABLE_VALUE',
  InvalidData = 'INVALID_DATA',
}

export class EventCodecError extends Error {
  constructor(
    readonly code: EventCodecErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EventCodecError';
  }
}
