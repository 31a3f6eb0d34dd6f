import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQuery } from '../../groups/dto/list-groups.query';

export class ListMembersQuery extends PageQuery {
  @ApiPropertyOptional({
    enum: ['active', 'all'],
    default: 'active',
    description: 'all includes former members (history)',
  })
  @IsOptional()
  @IsIn(['active', 'all'])
  status?: 'active' | 'all';
}
