import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
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

  @ApiPropertyOptional({
    description: 'members whose username starts with it, or whose email is it (case-insensitive)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  search?: string;
}
