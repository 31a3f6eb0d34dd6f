import { LmsRejectedError } from '@groups-sync/lms-client';

/** The LMS's reason, without the request line (`LMS POST /api/team/v0/team_membership/: 400 This team is already full.`). */
export function teamRefusal(error: LmsRejectedError): string {
  return error.message.replace(/^LMS \w+ \S+: \d{3} /, '') || `refused by the LMS (${error.status})`;
}
