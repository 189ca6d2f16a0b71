import { Type } from '@sinclair/typebox';
import { type FastifyInstance } from 'fastify';
import { principalOf } from '../auth/authenticate.js';
import { ROLES } from '../auth/roles.js';

const WhoAmIResponse = Type.Object(
  {
    role: Type.Union(
      ROLES.map((role) => Type.Literal(role)),
      { description: 'viewer < operator (pause, resume, trigger) < admin (define, change, delete)' },
    ),
    actor: Type.String({ description: 'how the audit trail names this token (role:hash-prefix)' }),
  },
  { additionalProperties: false },
);

/**
 * The role of the token that calls: the web UI asks once when a token is entered, so that it
 * offers only what that role may do instead of letting a 403 say so after the click.
 */
export function registerWhoAmIRoutes(app: FastifyInstance): void {
  app.get(
    '/whoami',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags: ['auth'],
        summary: "The calling token's role and audit name",
        response: { 200: WhoAmIResponse },
      },
    },
    (request) => {
      const { role, actor } = principalOf(request);
      return { role, actor: actor.id };
    },
  );
}
