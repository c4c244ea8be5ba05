import { Type } from '@sinclair/typebox';
import { json } from '../api-schemas.js';
import type { Operation } from '../operation.js';

const Health = Type.Object({ health: Type.Union([Type.Literal('healthy!'), Type.Literal('unhealthy!')]), status: Type.Union([Type.Literal('Healthy'), Type.Literal('Unhealthy')]) });

/** TorchServe's /ping: the old `health` key and the current `status` key, for every client. */
export const healthOperations = (isHealthy: () => boolean): Operation[] => [
  {
    id: 'ping',
    method: 'get',
    path: '/ping',
    summary: 'Health of the browser and every model',
    responses: { 200: json('Healthy', Health), 500: json('Unhealthy', Health) },
    handler: (_req, res) => {
      if (isHealthy()) res.json({ health: 'healthy!', status: 'Healthy' });
      else res.status(500).json({ health: 'unhealthy!', status: 'Unhealthy' });
    },
  },
];
