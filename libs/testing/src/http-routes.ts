import { INestApplication, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';

export interface HttpRoute {
  method: string;
  /** As Express matches it: `/api/user-groups/v1/groups/:id`. */
  path: string;
}

const trim = (part: unknown) => String(part).replace(/^\/+|\/+$/g, '');

/**
 * Every HTTP route of an app, read from its controllers' metadata as Nest's router explorer reads
 * it: a test that walks them covers an endpoint added later without being told about it.
 */
export function httpRoutes(app: INestApplication): HttpRoute[] {
  const scanner = new MetadataScanner();
  const routes = new Map<string, HttpRoute>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (!metatype) continue;
      const prototype = (metatype as { prototype: Record<string, unknown> }).prototype;
      const bases = [Reflect.getMetadata(PATH_METADATA, metatype) ?? ''].flat();
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as object;
        const paths = Reflect.getMetadata(PATH_METADATA, handler);
        if (paths === undefined) continue; // a Kafka consumer (@EventPattern) or a helper, not a route
        const method =
          RequestMethod[
            (Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined) ?? RequestMethod.GET
          ];
        for (const base of bases) {
          for (const path of [paths].flat()) {
            const full = `/${[base, path].map(trim).filter(Boolean).join('/')}`;
            routes.set(`${method} ${full}`, { method, path: full });
          }
        }
      }
    }
  }
  return [...routes.values()].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}
