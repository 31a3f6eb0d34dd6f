export * from './auth.config';
export * from './auth.exception';
export * from './auth.module';
export * from './current-principal.decorator';
export * from './jwt-auth.guard';
export * from './jwt-verifier';
export * from './principal';
