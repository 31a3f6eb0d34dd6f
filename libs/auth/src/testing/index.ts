export * from './jwks-server';
export * from './lms-claims';
export * from './token-minter';
export * from './rejected-tokens';
export * from './claim-course-roles';
