import { join } from 'node:path';
import { CRITERION_TYPES } from '@groups-sync/contracts';
import { CriteriaRegistry } from './criteria-registry';

const ROOT = join(__dirname, '..', '..', '..', '..');
const EXAMPLE = join(ROOT, 'libs/criteria-plugin-example/src/index.ts');

describe('CriteriaRegistry', () => {
  it('installs every built-in lms_db type of the catalogue', () => {
    const ids = new CriteriaRegistry()
      .all()
      .map((p) => p.spec.id)
      .sort();
    expect(ids).toEqual(
      Object.values(CRITERION_TYPES)
        .filter((t) => t.backend === 'lms_db')
        .map((t) => t.id)
        .sort(),
    );
  });

  it('installs the types of a plugin package named in CRITERIA_PLUGINS', () => {
    const registry = CriteriaRegistry.fromEnv(` ${EXAMPLE} `);
    expect(registry.loadErrors).toEqual([]);
    const plugin = registry.get('email_domain')!;
    expect(
      plugin.toSql!(
        { type: 'email_domain', operator: 'in', value: ['Example.ORG'], config: {} },
        { scope: { type: 'instance', key: '' }, now: new Date(), alias: 'c0' },
      ),
    ).toEqual({ joins: [], where: "LOWER(SUBSTRING_INDEX(u.email, '@', -1)) IN (?)", params: [['example.org']] });
  });

  it('reports a package that cannot be loaded, or exports no plugins, or clashes with an installed type, and keeps the rest', () => {
    const registry = new CriteriaRegistry([
      'no-such-package-anywhere',
      join(ROOT, 'libs/criteria-sdk/src/index.ts'),
      EXAMPLE,
      EXAMPLE,
    ]);
    expect(registry.loadErrors.map((e) => e.module)).toEqual([
      'no-such-package-anywhere',
      join(ROOT, 'libs/criteria-sdk/src/index.ts'),
      EXAMPLE,
    ]);
    expect(registry.loadErrors[1].error).toContain('exports no criterionPlugins');
    expect(registry.loadErrors[2].error).toContain('installed already');
    expect(registry.get('email_domain')).toBeDefined();
    expect(registry.get('last_login')).toBeDefined();
  });
});
