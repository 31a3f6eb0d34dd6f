import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Post,
  Query,
  Req,
  Res,
  UploadedFile,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import { stringify } from 'csv-stringify';
import { Request, Response } from 'express';
import type {} from 'multer'; // Express.Multer.File
import { DomainException } from '@groups-sync/observability';
import { pageWindow, Pagination } from '../api/pagination';
import { CurrentPrincipal, JwtAuthGuard, Principal } from '@groups-sync/auth';
import { GroupAccess } from '../auth/group-access';
import { GroupWriteGuard, WritableGroup } from '../auth/group-write.guard';
import { apiContext } from '../audit/request-context';
import { memberView } from '../groups/group-view';
import { UserGroup } from '../groups/user-group.entity';
import { CsvUploadInterceptor } from './csv-upload.interceptor';
import { AddMembersDto } from './dto/add-members.dto';
import { membersOfBody } from './dto/member-refs';
import { CsvImportQuery } from './dto/csv-import.query';
import { ListMembersQuery } from './dto/list-members.query';
import { RemoveMembersDto } from './dto/remove-members.dto';
import { CSV_MAX_BYTES, csvTooLarge, escapeCell, importReport, parseMembersCsv, rowResults } from './members-csv';
import { MembershipRepository } from './membership.repository';
import { MembershipsService } from './memberships.service';
import { GroupIdPipe } from '../api/group-id.pipe';
import { jsonInSlices } from '../api/in-slices';

/** A bulk body as it arrives: a type, not a class, so the global ValidationPipe leaves it to membersOfBody. */
type BulkMembersBody = Record<string, unknown>;

const EXPORT_PAGE = 5000;

@ApiTags('members')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/groups/:id/members')
export class MembersController {
  constructor(
    private readonly memberships: MembershipsService,
    private readonly repository: MembershipRepository,
    private readonly access: GroupAccess,
    private readonly pagination: Pagination,
  ) {}

  @Get()
  async list(
    @Param('id', GroupIdPipe) id: string,
    @Query() query: ListMembersQuery,
    @Req() req: Request,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.access.require(id, principal, 'read');
    const window = pageWindow(query, 100);
    const { count, members } = await this.repository.list(
      id,
      query.status ?? 'active',
      window.offset,
      window.size,
      query.search?.trim() || undefined,
    );
    return this.pagination.page(req, window, count, members.map(memberView));
  }

  /** Idempotent: per user `added`, `already_member`, `unknown` or `refused` (with a reason). */
  @Post()
  @HttpCode(200)
  @ApiBody({ type: AddMembersDto })
  async add(
    @Param('id', GroupIdPipe) id: string,
    @Body() body: BulkMembersBody,
    @Req() req: Request,
    @CurrentPrincipal() principal: Principal,
  ) {
    const members = await membersOfBody(body);
    const group = await this.access.require(id, principal, 'write');
    return jsonInSlices({}, 'results', await this.memberships.add(group, members, apiContext(req, principal)));
  }

  /** Bulk removal, idempotent: per user `removed`, `not_member`, `unknown` or `refused`. */
  @Post('remove')
  @HttpCode(200)
  @ApiBody({ type: RemoveMembersDto })
  async removeMany(
    @Param('id', GroupIdPipe) id: string,
    @Body() body: BulkMembersBody,
    @Req() req: Request,
    @CurrentPrincipal() principal: Principal,
  ) {
    const members = await membersOfBody(body);
    const group = await this.access.require(id, principal, 'write');
    return jsonInSlices({}, 'results', await this.memberships.remove(group, members, apiContext(req, principal)));
  }

  @ApiOperation({
    summary:
      'Adds the users of a CSV file (a username or an email column); answers a per-row report. dry_run=true reports what would happen and changes nothing',
  })
  @ApiConsumes('multipart/form-data', 'text/csv')
  @ApiBody({ schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } } } })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Post('csv')
  @HttpCode(200)
  // Access first, then the body: the guard runs before the upload is read (and before csvBody).
  @UseGuards(GroupWriteGuard)
  @UseInterceptors(CsvUploadInterceptor)
  async importCsv(
    @WritableGroup() group: UserGroup,
    @UploadedFile() file: Express.Multer.File | undefined,
    @Query() query: CsvImportQuery,
    @Req() req: Request,
    @CurrentPrincipal() principal: Principal,
  ) {
    const text = file ? file.buffer.toString('utf8') : await csvBody(req);
    const rows = await parseMembersCsv(text);
    const valid = rows.filter((r) => !r.problem);
    const dryRun = query.dry_run === 'true';
    const added = await this.memberships.add(
      group,
      valid.map((r) => ({ username: r.username, email: r.email })),
      { ...apiContext(req, principal), origin: 'csv' },
      { dryRun },
    );
    const report = await importReport(rows, await rowResults(rows, added));
    return jsonInSlices({ dry_run: dryRun, summary: report.summary }, 'results', report.results);
  }

  @ApiOperation({ summary: 'The members as CSV: user_id, username, email, joined_at, left_at, origin, sync_state' })
  @ApiProduces('text/csv')
  @Get('csv')
  async exportCsv(
    @Param('id', GroupIdPipe) id: string,
    @Query() query: ListMembersQuery,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ) {
    const group = await this.access.require(id, principal, 'read');
    const status = query.status ?? 'active';
    const columns = [
      'user_id',
      'username',
      'email',
      'joined_at',
      'left_at',
      'origin',
      'sync_state',
      ...(status === 'all' ? ['active'] : []),
    ];
    res.setHeader('content-type', 'text/csv; charset=utf-8');
    res.setHeader(
      'content-disposition',
      `attachment; filename="${group.name.replace(/[^\w.-]+/g, '_').slice(0, 100) || 'group'}-members.csv"`,
    );
    const csv = stringify({
      header: true,
      columns,
      cast: { date: (d) => d.toISOString(), boolean: (b) => (b ? 'true' : 'false') },
    });
    csv.pipe(res);
    // Written page by page, waiting for the client when it reads slower than the database answers.
    for (let after = 0; ;) {
      const page = await this.repository.exportPage(id, status, after, EXPORT_PAGE);
      for (const m of page) {
        if (
          !csv.write({ ...m, username: escapeCell(m.username), email: m.email === null ? '' : escapeCell(m.email) })
        ) {
          await new Promise((resolve) => csv.once('drain', resolve));
        }
      }
      if (page.length < EXPORT_PAGE) break;
      after = page[page.length - 1].user_id;
    }
    csv.end();
  }

  @Delete(':userId')
  @HttpCode(200)
  async remove(
    @Param('id', GroupIdPipe) id: string,
    @Param('userId', ParseIntPipe) userId: number,
    @Req() req: Request,
    @CurrentPrincipal() principal: Principal,
  ) {
    const group = await this.access.require(id, principal, 'write');
    const [result] = await this.memberships.remove(group, [{ user_id: userId }], apiContext(req, principal));
    return result;
  }
}

/** A `text/csv` body, read here: no body parser takes that type. */
async function csvBody(req: Request): Promise<string> {
  const type = req.headers['content-type'] ?? '';
  if (!/^text\/(csv|plain)\b/i.test(type)) {
    throw new DomainException(
      'CSV_REQUIRED',
      'invalid',
      'send the CSV as multipart/form-data (field "file") or with content-type text/csv',
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > CSV_MAX_BYTES) throw csvTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
