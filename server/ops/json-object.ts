// The one test every reader of parsed JSON (config files, archives, KServe bodies) makes before
// it reads a field.

export type JsonObject = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export const isJsonObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
