import { type Static, Type } from '@sinclair/typebox';
import { defineDocument } from './document.js';

/** A token name: the znode name under `/api-tokens`, and what audit entries call its holder. */
export const API_TOKEN_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';

/**
 * `/api-tokens/<name>`: one named API token, written by the API when an admin creates it and
 * deleted when it is revoked. Only the SHA-256 of the secret is kept (the secret is 32 random
 * bytes, so a plain hash is as good as a slow one): a reader of this node learns no usable token.
 * `lastUsedAt` is refreshed by the API at most once a minute per token and process.
 */
export const ApiTokenSchema = Type.Object({
  name: Type.String({ pattern: API_TOKEN_NAME_PATTERN }),
  role: Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hex SHA-256 of the secret' }),
  createdAt: Type.String({ description: 'ISO 8601' }),
  createdBy: Type.String({ description: 'the actor id of the admin who created it' }),
  expiresAt: Type.Union([Type.String(), Type.Null()], { description: 'ISO 8601; null: never' }),
  lastUsedAt: Type.Union([Type.String(), Type.Null()], { description: 'ISO 8601; null: not yet' }),
});
export type ApiTokenRecord = Static<typeof ApiTokenSchema>;

export const apiTokenDocument = defineDocument('api token', ApiTokenSchema);
