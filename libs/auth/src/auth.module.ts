import { DynamicModule, Module } from '@nestjs/common';
import { JwtAuthSettings } from './auth.config';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtVerifier } from './jwt-verifier';

/** `AuthModule.forRoot(config)`; then `@UseGuards(JwtAuthGuard)` on each API controller. */
@Module({})
export class AuthModule {
  static forRoot(settings: JwtAuthSettings): DynamicModule {
    return {
      module: AuthModule,
      providers: [{ provide: JwtVerifier, useFactory: () => JwtVerifier.create(settings) }, JwtAuthGuard],
      exports: [JwtVerifier, JwtAuthGuard],
    };
  }
}
