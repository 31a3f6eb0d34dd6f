import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What the LMS told us of an account, kept to resolve usernames and emails without asking again.
 * Not unique on username or email: a retired or changed account may leave an older row behind,
 * and the freshest row wins.
 */
@Entity('user_account')
export class UserAccount {
  @PrimaryColumn({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  id: number;

  @Column({ type: 'varchar', length: 150 })
  username: string;

  @Column({ type: 'varchar', length: 254, nullable: true })
  email: string | null;

  @Column({ name: 'fetched_at', type: 'datetime', precision: 6 })
  fetchedAt: Date;
}
