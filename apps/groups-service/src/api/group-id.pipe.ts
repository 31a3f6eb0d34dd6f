import { ArgumentMetadata, Injectable, ParseUUIDPipe, PipeTransform } from '@nestjs/common';

/** Lower-cases a UUID: group ids are stored, and compared byte for byte, in lower case. */
export const lowerUuid = (value: unknown): unknown => (typeof value === 'string' ? value.toLowerCase() : value);

/** A group id from the path: a UUID in any case (400 otherwise), answered in lower case. */
@Injectable()
export class GroupIdPipe implements PipeTransform<string, Promise<string>> {
  private readonly uuid = new ParseUUIDPipe();

  async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    return (await this.uuid.transform(value, metadata)).toLowerCase();
  }
}
