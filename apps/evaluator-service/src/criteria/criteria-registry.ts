import { Injectable, Logger } from '@nestjs/common';
import { CRITERION_TYPES } from '@groups-sync/contracts';
import { CriterionPlugin, isPluginModule } from '@groups-sync/criteria-sdk';
import { LMS_TABLE_PLUGINS } from './lms-table-plugins';

/** A plugin module named in CRITERIA_PLUGINS that could not be used, and why. */
export interface PluginLoadError {
  module: string;
  error: string;
}

/** A built-in backend besides the LMS's database: its plugins when it is configured, else its types and why they are not installed. */
export type OptionalBackend = { plugins: CriterionPlugin[] } | { types: string[]; unavailable: string };

/**
 * The installed criterion types: the built-ins, and those of the packages named in
 * `CRITERIA_PLUGINS` (comma-separated module names, resolved like `require`). A package that fails
 * to load is reported, not fatal: groups using its types are refreshed no more, with the error shown.
 */
@Injectable()
export class CriteriaRegistry {
  private readonly logger = new Logger(CriteriaRegistry.name);
  private readonly plugins = new Map<string, CriterionPlugin>();
  private readonly notInstalled = new Map<string, string>();
  readonly loadErrors: PluginLoadError[] = [];

  constructor(modules: string[] = [], backends: OptionalBackend[] = []) {
    for (const plugin of LMS_TABLE_PLUGINS) this.plugins.set(plugin.spec.id, plugin);
    for (const backend of backends) {
      if ('plugins' in backend) for (const plugin of backend.plugins) this.plugins.set(plugin.spec.id, plugin);
      else for (const type of backend.types) this.notInstalled.set(type, backend.unavailable);
    }
    for (const name of modules) this.load(name);
  }

  static fromEnv(value: string | undefined, backends: OptionalBackend[] = []): CriteriaRegistry {
    return new CriteriaRegistry(
      (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      backends,
    );
  }

  get(type: string): CriterionPlugin | undefined {
    return this.plugins.get(type);
  }

  all(): CriterionPlugin[] {
    return [...this.plugins.values()];
  }

  /** Why a built-in type is not installed (its backend is not configured); undefined for any other type. */
  unavailable(type: string): string | undefined {
    return this.plugins.has(type) ? undefined : this.notInstalled.get(type);
  }

  private load(name: string): void {
    try {
      // A package name, or a path from the working directory.
      const module: unknown = require(require.resolve(name, { paths: [process.cwd()] }));
      if (!isPluginModule(module))
        throw new Error('exports no criterionPlugins (a list of plugins with a spec and toSql or evaluate)');
      for (const plugin of module.criterionPlugins) {
        if (CRITERION_TYPES[plugin.spec.id]?.legacy || this.plugins.has(plugin.spec.id))
          throw new Error(`criterion type ${plugin.spec.id} is installed already`);
        this.plugins.set(plugin.spec.id, plugin);
      }
      this.logger.log(`criterion plugins from ${name}: ${module.criterionPlugins.map((p) => p.spec.id).join(', ')}`);
    } catch (error) {
      this.loadErrors.push({ module: name, error: (error as Error).message });
      this.logger.error(`criterion plugins from ${name} not loaded: ${(error as Error).message}`);
    }
  }
}
