import { AddMembersDto } from './add-members.dto';

/** The same shape as an add: users by user_id, username or email. */
export class RemoveMembersDto extends AddMembersDto {}
