import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { apiContext } from '../audit/request-context';
import { CreateGroupDto } from './dto/create-group.dto';
import { groupView } from './group-view';
import { GroupsService } from './groups.service';

@ApiTags('groups')
@Controller('api/user-groups/v1/groups')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Post()
  async create(@Body() dto: CreateGroupDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const group = await this.groups.create(dto, apiContext(req));
    res.status(201).setHeader('ETag', `"${group.version}"`);
    return groupView(group, []);
  }

  @Get(':id')
  async read(@Param('id', new ParseUUIDPipe()) id: string, @Res({ passthrough: true }) res: Response) {
    const group = await this.groups.get(id);
    res.setHeader('ETag', `"${group.version}"`);
    return groupView(group, await this.groups.activeMembers(id));
  }
}
