import { BadRequestException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { inSlices } from '../../api/in-slices';
import { MemberRefDto } from './member-ref.dto';

/** Entries checked between two turns of the event loop (~15 ms of class-validator work). */
const SLICE = 200;
/** A body with thousands of bad entries gets the first ones, not a megabyte of messages. */
const MAX_MESSAGES = 100;

/** Most entries a bulk body takes (AddMembersDto documents the same body for OpenAPI). */
export const MAX_MEMBERS = 10_000;

/**
 * A bulk body, `{"members": [...]}`, checked here and not by the global ValidationPipe, which would
 * copy and check all 10,000 entries in one go (~250 ms of a blocked event loop): the handler takes it
 * as a plain object (no DTO class, so the pipe leaves it alone) and calls this.
 */
export async function membersOfBody(body: unknown): Promise<MemberRefDto[]> {
  const problems: string[] = [];
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new BadRequestException(['the body must be an object with a members array']);
  for (const key of Object.keys(body)) if (key !== 'members') problems.push(`property ${key} should not exist`);
  const { members } = body as { members?: unknown };
  if (!Array.isArray(members)) problems.push('members must be an array');
  else if (members.length < 1) problems.push('members must contain at least 1 elements');
  else if (members.length > MAX_MEMBERS) problems.push(`members must contain no more than ${MAX_MEMBERS} elements`);
  if (problems.length) throw new BadRequestException(problems);
  return memberRefsOf(members as unknown[]);
}

/**
 * The entries of a bulk body (up to 10,000), checked as MemberRefDto, a slice at a time: the global
 * ValidationPipe would check them all in one go, blocking the event loop for ~150 ms. Refused the
 * way that pipe refuses (400 VALIDATION_FAILED, `<field>.<index>.<message>`).
 */
export async function memberRefsOf(items: unknown[], field = 'members'): Promise<MemberRefDto[]> {
  const refs: MemberRefDto[] = [];
  const messages: string[] = [];
  await inSlices(
    items,
    (item, i) => {
      if (messages.length >= MAX_MESSAGES) return;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        messages.push(`${field}.${i} must be an object with a user_id, a username or an email`);
        return;
      }
      const ref = plainToInstance(MemberRefDto, item);
      for (const error of validateSync(ref, { whitelist: true, forbidNonWhitelisted: true })) {
        for (const message of Object.values(error.constraints ?? {})) messages.push(`${field}.${i}.${message}`);
      }
      refs.push(ref);
    },
    SLICE,
  );
  if (messages.length) throw new BadRequestException(messages.slice(0, MAX_MESSAGES));
  return refs;
}
