import { Type } from '@sinclair/typebox';
import { type FastifyInstance } from 'fastify';
import { principalOf } from '../auth/authenticate.js';

const WhoamiResponse = Type.Object(
  {
    role: Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]),
    actor: Type.Object(
      {
        kind: Type.Union([Type.Literal('user'), Type.Literal('token'), Type.Literal('system')]),
        id: Type.String({ description: 'the name audit entries give the caller' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/**
 * `GET /whoami`: the caller's role and audit name, so a client (the web UI) offers only the
 * actions the token may take. Informative only: every route still checks the role itself.
 */
export function registerWhoamiRoutes(app: FastifyInstance): void {
  app.get(
    '/whoami',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags: ['cluster'],
        summary: "The caller's role and the actor audit entries name",
        response: { 200: WhoamiResponse },
      },
    },
    (request) => {
      const { role, actor } = principalOf(request);
      return { role, actor };
    },
  );
}
