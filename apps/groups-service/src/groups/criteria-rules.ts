import { CRITERION_TYPES, CriterionTypeSpec, ScopeType, validateCriterion } from '@groups-sync/contracts';
import { CriterionDto } from './dto/create-group.dto';
import { Criterion } from './criterion.entity';
import { GroupsErrorCode, GroupsException } from './groups.exception';
import { GroupKind } from './user-group.entity';

export type CriterionValues = Pick<Criterion, 'type' | 'operator' | 'value' | 'config'>;

/**
 * A kind's criteria: manual none; dynamic 1 to 3 selecting criteria (ANDed); legacy exactly one
 * legacy criterion. Each is checked against the installed catalogue; every error names its field.
 */
export function checkCriteria(
  kind: GroupKind,
  scope: ScopeType,
  criteria: CriterionDto[] = [],
  catalogue: Record<string, CriterionTypeSpec> = CRITERION_TYPES,
): CriterionValues[] {
  const fail = (message: string, errors?: Array<{ field: string; message: string }>) => {
    throw new GroupsException(GroupsErrorCode.InvalidCriterion, message, {
      field: 'criteria',
      ...(errors ? { errors } : {}),
    });
  };
  if (kind === 'manual' && criteria.length)
    fail('criteria: a manual group has no criteria; its members are added by API or CSV');
  if (kind === 'dynamic' && (criteria.length < 1 || criteria.length > 3))
    fail('criteria: a dynamic group has 1 to 3 criteria');
  if (kind === 'legacy' && criteria.length !== 1) fail('criteria: a legacy group has exactly one legacy criterion');
  const errors = criteria.flatMap((c, i) => validateCriterion(c, scope, `criteria[${i}]`, catalogue));
  criteria.forEach((c, i) => {
    const legacy = !!catalogue[c.type]?.legacy;
    if (kind === 'dynamic' && legacy)
      errors.push({
        field: `criteria[${i}].type`,
        message: 'a legacy criterion makes a legacy group, not a dynamic one',
      });
    if (kind === 'legacy' && catalogue[c.type] && !legacy)
      errors.push({ field: `criteria[${i}].type`, message: 'a legacy group needs a legacy_* criterion' });
  });
  if (errors.length) fail(errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  return criteria.map((c) => ({
    type: c.type,
    operator: c.operator ?? '=',
    value: c.value ?? null,
    config: catalogue[c.type].legacy
      ? {
          ...Object.fromEntries(Object.keys(catalogue[c.type].legacy!.config).map((k) => [k, null])),
          ...(c.config ?? {}),
        }
      : {},
  }));
}

/** The shortest default cadence among a dynamic group's criteria. */
export function defaultRefreshSeconds(
  criteria: CriterionValues[],
  catalogue: Record<string, CriterionTypeSpec> = CRITERION_TYPES,
): number | null {
  const cadences = criteria
    .map((c) => catalogue[c.type]?.defaultRefreshSeconds)
    .filter((s): s is number => typeof s === 'number');
  return cadences.length ? Math.min(...cadences) : null;
}

export function legacyKind(
  criteria: Array<{ type: string }> | undefined,
): 'cohort' | 'team' | 'enrollment_track' | null {
  const legacy = criteria?.map((c) => CRITERION_TYPES[c.type]?.legacy).find(Boolean);
  return legacy?.kind ?? null;
}
