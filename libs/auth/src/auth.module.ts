import { DynamicModule, Module } from '@nestjs/common';
import { JwtAuthSettings } from './auth.config';
import { CourseRoles, LmsCourseRoles } from './course-roles';
import { CsrfTokenController } from './csrf-token.controller';
import { JwtAuthGuard, SERVICE_USERS } from './jwt-auth.guard';
import { JwtVerifier } from './jwt-verifier';
import { parseServiceUsers } from './principal';

/** `AuthModule.forRoot(config)`; then `@UseGuards(JwtAuthGuard)` on each API controller. */
@Module({})
export class AuthModule {
  static forRoot(settings: JwtAuthSettings): DynamicModule {
    return {
      module: AuthModule,
      controllers: [CsrfTokenController],
      providers: [
        { provide: JwtVerifier, useFactory: () => JwtVerifier.create(settings) },
        { provide: SERVICE_USERS, useFactory: () => parseServiceUsers(settings.SERVICE_USERS) },
        { provide: CourseRoles, useFactory: () => new LmsCourseRoles(settings) },
        JwtAuthGuard,
      ],
      exports: [JwtVerifier, JwtAuthGuard, CourseRoles, SERVICE_USERS],
    };
  }
}
