/**
 * edx-platform's TeamsConfig / TeamsetConfig (openedx/core/lib/teams_config.py): a course's
 * `teams_configuration` advanced setting, cleaned the same way. Bad entries are dropped, not refused.
 */
export const MANAGED_TEAM_MAX_TEAM_SIZE = 200;
export const DEFAULT_COURSE_RUN_MAX_TEAM_SIZE = 50;
export const TEAMSET_TYPES = ['open', 'public_managed', 'private_managed', 'open_managed'] as const;
export type TeamsetType = (typeof TEAMSET_TYPES)[number];

const TEAMSET_ID = /^[A-Za-z0-9_. -]+$/;

export interface Teamset {
  id: string;
  name: string;
  description: string;
  max_team_size: number | null;
  type: TeamsetType;
  user_partition_id: unknown;
}

export class TeamsConfig {
  readonly teamsets: Teamset[];
  readonly defaultMaxTeamSize: number;
  readonly enabled: boolean;
  private readonly byId: Map<string, Teamset>;

  constructor(data: unknown) {
    const raw =
      data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
    // `team_sets`, or `topics` for older courses; the first teamset with an id wins, invalid ids are dropped.
    const entries = raw.team_sets ?? raw.topics ?? [];
    this.byId = new Map();
    for (const entry of Array.isArray(entries) ? entries : []) {
      const teamset = cleanTeamset(entry);
      if (teamset.id && !this.byId.has(teamset.id)) this.byId.set(teamset.id, teamset);
    }
    this.teamsets = [...this.byId.values()];
    this.defaultMaxTeamSize = cleanMaxTeamSize(raw.max_team_size) || DEFAULT_COURSE_RUN_MAX_TEAM_SIZE;
    this.enabled = typeof raw.enabled === 'boolean' ? raw.enabled : this.teamsets.length > 0;
  }

  teamset(id: string): Teamset | undefined {
    return this.byId.get(id);
  }

  /**
   * calc_max_team_size: managed teamsets 200, an open one its own size, else the course's. The
   * membership API does not use it: it checks `defaultMaxTeamSize` ("TODO MST-32" in views.py).
   */
  calcMaxTeamSize(teamsetId: string): number {
    const teamset = this.byId.get(teamsetId);
    if (!teamset) throw new Error(`Team-set ${teamsetId} does not exist.`);
    if (teamset.type !== 'open') return MANAGED_TEAM_MAX_TEAM_SIZE;
    return teamset.max_team_size || this.defaultMaxTeamSize;
  }

  /** api.is_instructor_managed_topic: only public_managed and private_managed (not open_managed). */
  isInstructorManaged(teamsetId: string): boolean {
    const type = this.byId.get(teamsetId)?.type;
    return type === 'public_managed' || type === 'private_managed';
  }

  isPrivateManaged(teamsetId: string): boolean {
    return this.byId.get(teamsetId)?.type === 'private_managed';
  }

  cleanedData() {
    return { enabled: this.enabled, max_team_size: this.defaultMaxTeamSize, team_sets: this.teamsets };
  }
}

function cleanTeamset(entry: unknown): Teamset {
  const raw =
    entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? (entry as Record<string, unknown>) : {};
  const rawId = cleanString(raw.id);
  const id = TEAMSET_ID.test(rawId) ? rawId : '';
  const type = TEAMSET_TYPES.includes(raw.type as TeamsetType) ? (raw.type as TeamsetType) : 'open';
  return {
    id,
    name: cleanString(raw.name) || id,
    description: cleanString(raw.description),
    max_team_size: cleanMaxTeamSize(raw.max_team_size),
    type,
    user_partition_id: raw.user_partition_id ?? null,
  };
}

/** _clean_string: a string or an integer as text, anything else "". */
function cleanString(value: unknown): string {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)) ? String(value) : '';
}

/** _clean_max_team_size: a non-negative integer, else null. */
function cleanMaxTeamSize(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}
