/** Small builders for the OpenAPI v3 schema pieces the CRD is written in (schema.ts, planningSchema.ts). */
import { DURATION_PATTERN } from './duration.js';

export type Schema = Record<string, unknown>;

export const str = (description: string, extra: Schema = {}): Schema => ({
  type: 'string',
  description,
  ...extra,
});
export const int = (description: string, extra: Schema = {}): Schema => ({
  type: 'integer',
  description,
  ...extra,
});
export const num = (description: string, extra: Schema = {}): Schema => ({
  type: 'number',
  description,
  ...extra,
});
export const bool = (description: string, extra: Schema = {}): Schema => ({
  type: 'boolean',
  description,
  ...extra,
});
export const obj = (description: string, properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: 'object',
  description,
  properties,
  ...extra,
});

export const duration = (description: string, def: string): Schema =>
  str(description, { pattern: DURATION_PATTERN, default: def, maxLength: 32 });
