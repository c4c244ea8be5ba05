// One table of operations per listener: each entry is what the listener serves (method, path,
// handler) and what it promises (parameters, body, answers, as TypeBox schemas, which are JSON
// Schema). The Express routes, the 405 answers and their Allow header, and the OpenAPI document
// are all made from the same entries, so none of them can describe a route the others lack.

import type { RequestHandler, Router } from 'express';
import { Type, type TSchema } from '@sinclair/typebox';
import { methodNotAllowed } from '../errors.js';

export type Method = 'get' | 'put' | 'post' | 'delete' | 'options';

export interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: TSchema;
  description?: string;
  required?: boolean;
}

/** One possible answer: its schema per media type, and the headers it sets. */
export interface Answer {
  description: string;
  content?: Record<string, TSchema>;
  headers?: Record<string, { description: string; schema: TSchema }>;
}

export interface Operation {
  /** The OpenAPI operationId, unique in its listener. */
  id: string;
  method: Method;
  /** OpenAPI form, `/predictions/{model_name}`: every segment in braces is a path parameter. */
  path: string;
  summary: string;
  params?: Param[];
  body?: { description: string; content: Record<string, TSchema> };
  responses: Record<number, Answer>;
  handler: RequestHandler;
}

/** Express's form, `/predictions/:model_name`; a literal colon (KServe's `{model_name}:predict`) is escaped, not a parameter. */
export const expressPath = (path: string): string => path.replace(/:/g, '\\:').replace(/\{(\w+)\}/g, ':$1');

const pathParams = (path: string): Param[] => [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name: name!, in: 'path', required: true, schema: Type.String() }));

const ORDER: readonly Method[] = ['get', 'post', 'put', 'delete', 'options'];

/** The methods `path` serves in `table`, upper case, in the order TorchServe's Allow lists them. */
export const methodsOf = (table: readonly Operation[], path: string): string[] => ORDER.filter((m) => table.some((op) => op.path === path && op.method === m)).map((m) => m.toUpperCase());

/**
 * Serves `ops` on `router`, then answers any other method on their paths with 405 and the
 * methods `table` (the whole listener's) serves there. A method that is served passes on to a
 * later route: a handler that finds nothing (an unlisted file) calls next() and gets the 404.
 */
export function mount(router: Router, ops: readonly Operation[], table: readonly Operation[] = ops): Router {
  for (const op of ops) router[op.method](expressPath(op.path), op.handler);
  for (const path of new Set(ops.map((op) => op.path))) {
    const allowed = methodsOf(table, path);
    router.all(expressPath(path), (req, _res, next) => {
      if (allowed.includes(req.method) || (req.method === 'HEAD' && allowed.includes('GET'))) next();
      else next(methodNotAllowed(allowed));
    });
  }
  return router;
}

/**
 * JSON Schema as OpenAPI 3.0 reads it: `nullable` instead of a null type, `enum` instead of
 * `const`, `additionalProperties` instead of the pattern TypeBox gives a record. Symbols (TypeBox's
 * own marks) are dropped by the JSON round trip.
 */
export function openApiSchema(schema: TSchema): object {
  const walk = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(walk);
    if (typeof s !== 'object' || s === null) return s;
    const o: Record<string, unknown> = { ...(s as Record<string, unknown>) };
    const anyOf = o['anyOf'] as Record<string, unknown>[] | undefined;
    if (anyOf?.some((x) => x['type'] === 'null')) {
      const rest = anyOf.filter((x) => x['type'] !== 'null');
      delete o['anyOf'];
      Object.assign(o, rest.length === 1 ? rest[0] : { anyOf: rest }, { nullable: true });
    }
    if ('const' in o) {
      o['enum'] = [o['const']];
      delete o['const'];
    }
    const patterns = o['patternProperties'] as Record<string, unknown> | undefined;
    if (patterns) {
      o['additionalProperties'] = Object.values(patterns)[0];
      delete o['patternProperties'];
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, walk(v)]));
  };
  return walk(JSON.parse(JSON.stringify(schema))) as object;
}

const contentOf = (content: Record<string, TSchema>) => Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, { schema: openApiSchema(schema) }]));

/** The OpenAPI 3.0.1 document of one listener's table. */
export function openApiDocument(info: { title: string; description: string; version: string }, table: readonly Operation[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const op of table) {
    const declared = op.params ?? [];
    const params = [...pathParams(op.path).filter((p) => !declared.some((d) => d.name === p.name)), ...declared];
    const responses = Object.fromEntries(
      Object.entries(op.responses).map(([status, a]) => [
        status,
        {
          description: a.description,
          ...(a.headers ? { headers: Object.fromEntries(Object.entries(a.headers).map(([h, d]) => [h, { description: d.description, schema: openApiSchema(d.schema) }])) } : {}),
          ...(a.content ? { content: contentOf(a.content) } : {}),
        },
      ]),
    );
    (paths[op.path] ??= {})[op.method] = {
      operationId: op.id,
      summary: op.summary,
      ...(params.length ? { parameters: params.map((p) => ({ ...p, required: p.in === 'path' || p.required === true, schema: openApiSchema(p.schema) })) } : {}),
      ...(op.body ? { requestBody: { required: true, description: op.body.description, content: contentOf(op.body.content) } } : {}),
      responses,
    };
  }
  return { openapi: '3.0.1', info, paths };
}
