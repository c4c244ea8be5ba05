// How HTTP carries an inference request to the pipeline (server/pipeline/): it is admitted before
// a byte of its body is read (refused ones close their connection, so an endless upload is not
// read), it is over for admission and shutdown once its response has closed, and it learns when
// its client goes; its stages become headers.

import type { Request, Response } from 'express';
import { ApiError } from '../../errors.js';
import type { InferenceCall } from '../../pipeline/inference-core.js';
import type { Answered } from '../../pipeline/served.js';
import { lingerOnClose } from '../uploads/lingering-close.js';

/** The request `req`, answered on `res`, which arrived at `arrivedAt` (performance.now()). */
export function httpCall(req: Request, res: Response, arrivedAt: number): InferenceCall {
  const declared = Number(req.headers['content-length']);
  return {
    arrivedAt,
    declaredBytes: Number.isFinite(declared) ? declared : 0,
    arrivedWhole: false,
    admitted: (finish) => {
      const gone = new AbortController();
      res.on('close', () => {
        finish();
        if (!res.writableFinished) gone.abort(new Error('the client closed the connection before its answer'));
      });
      return gone.signal;
    },
    refused: (e) => {
      // Refused with its body unread: the connection closes after the answer.
      lingerOnClose(req.socket);
      return e instanceof ApiError ? e.closing() : e;
    },
  };
}

/** The run's headers on the answer, and its fields for the access log. */
export function recordInference(res: Response, served: Answered<unknown>): void {
  res.set(served.headers);
  res.locals['access'] = served.access;
}
