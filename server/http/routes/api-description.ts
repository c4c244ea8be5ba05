import { ApiDocument, json } from '../api-schemas.js';
import type { Operation } from '../operation.js';

/**
 * `OPTIONS /` answers the listener's OpenAPI document, as TorchServe does; on the inference port
 * `GET /api-description` too. The document is made later from the table these join.
 */
export function apiDescriptionOperations(document: () => object, alsoGet: boolean): Operation[] {
  const answer = { 200: json('This document', ApiDocument) };
  const handler: Operation['handler'] = (_req, res) => {
    res.json(document());
  };
  return [
    { id: 'apiDescription', method: 'options', path: '/', summary: 'OpenAPI description of this API', responses: answer, handler },
    ...(alsoGet ? [{ id: 'apiDescriptionGet', method: 'get' as const, path: '/api-description', summary: 'OpenAPI description of this API', responses: answer, handler }] : []),
  ];
}
