import { Body, Controller, Get, HttpCode, Post, Query, Req, UseFilters, UseGuards } from '@nestjs/common';
import { Request } from 'express';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { TokenGuard } from '../auth/token.guard';
import { LmsErrorFilter, LmsHttpError } from '../lms-http.error';

interface AuthUserRow {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: number;
  date_joined: Date;
  last_login: Date | null;
}

/** DRF renders these DateTimeFields as ISO 8601 with a Z; date_joined drops the microseconds. */
function drfTime(at: Date | null, keepMicros = true): string | null {
  if (!at) return null;
  const iso = at.toISOString();
  return keepMicros ? iso.replace('Z', '000Z') : iso.replace(/\.\d{3}Z$/, 'Z');
}

/**
 * /api/user/v1/accounts as edx-platform's AccountViewSet answers a staff caller (our OAuth2
 * client's owner is staff): `?username=a,b` (comma-separated; the accounts found, in database
 * order; 404 when none is), or one `?email=` or `?lms_user_id=` (404 when unknown, 400 for an id
 * that is not a number), and POST `search_emails` (`{email, id, username}` of those found). The
 * lookups match case-insensitively, as MySQL's collation makes them in the LMS.
 */
@ApiTags('lms: user accounts v1')
@UseGuards(TokenGuard)
@UseFilters(LmsErrorFilter)
@Controller('api/user/v1/accounts')
export class AccountsController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tokens: TokenGuard,
  ) {}

  @Get()
  async list(@Query() query: Record<string, unknown>) {
    const one = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
    let rows: AuthUserRow[];
    const usernames = one('username');
    const email = one('email');
    const lmsUserId = one('lms_user_id');
    if (usernames) {
      const names = usernames.replace(/^,+|,+$/g, '').split(',');
      rows = await this.dataSource.query('SELECT * FROM auth_user WHERE username IN (?)', [names]);
    } else if (email !== undefined) {
      rows = await this.dataSource.query('SELECT * FROM auth_user WHERE email = ?', [email]);
      if (rows.length !== 1) throw new LmsHttpError(404, '');
    } else if (lmsUserId !== undefined) {
      if (!/^\d{1,18}$/.test(lmsUserId)) throw new LmsHttpError(400, '');
      rows = await this.dataSource.query('SELECT * FROM auth_user WHERE id = ?', [lmsUserId]);
      if (!rows.length) throw new LmsHttpError(404, '');
    } else {
      rows = []; // edx-platform: the caller's own account; our client has no user of its own
    }
    if (!rows.length) throw new LmsHttpError(404, '');
    return rows.map(account);
  }

  /** Staff only (AccountViewSet.search_emails): anyone else gets the 404 edx-platform answers. */
  @Post('search_emails')
  @HttpCode(200)
  async searchEmails(@Body() body: Record<string, unknown>, @Req() req: Request) {
    if (!(await this.tokens.caller(req)).staff)
      throw new LmsHttpError(404, { developer_message: 'not_found', user_message: 'Not Found' });
    if (!body || !('emails' in body)) {
      const message = "'emails' field is required";
      throw new LmsHttpError(400, { developer_message: message, user_message: message });
    }
    const emails = Array.isArray(body.emails) ? body.emails.filter((e): e is string => typeof e === 'string') : [];
    if (!emails.length) return [];
    const rows: AuthUserRow[] = await this.dataSource.query(
      'SELECT id, username, email FROM auth_user WHERE email IN (?)',
      [emails],
    );
    return rows.map((u) => ({ email: u.email, id: u.id, username: u.username }));
  }
}

/** The account as a staff caller sees it: ACCOUNT_VISIBILITY_CONFIGURATION's admin_fields, in order. */
function account(u: AuthUserRow) {
  return {
    account_privacy: 'private',
    profile_image: {
      has_image: false,
      image_url_full: 'http://localhost:18000/static/images/profiles/default_500.png',
      image_url_large: 'http://localhost:18000/static/images/profiles/default_120.png',
      image_url_medium: 'http://localhost:18000/static/images/profiles/default_50.png',
      image_url_small: 'http://localhost:18000/static/images/profiles/default_30.png',
    },
    username: u.username,
    bio: null,
    course_certificates: null,
    country: null,
    date_joined: drfTime(u.date_joined, false),
    language_proficiencies: [],
    level_of_education: null,
    social_links: [],
    time_zone: null,
    name: `${u.first_name} ${u.last_name}`.trim(),
    email: u.email,
    id: u.id,
    verified_name: null,
    extended_profile: [],
    gender: null,
    state: null,
    goals: null,
    is_active: !!u.is_active,
    last_login: drfTime(u.last_login),
    mailing_address: null,
    requires_parental_consent: true,
    secondary_email: null,
    secondary_email_enabled: null,
    year_of_birth: null,
    phone_number: null,
    pending_name_change: null,
  };
}
