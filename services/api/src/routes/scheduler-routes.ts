import { type FastifyInstance } from 'fastify';
import { SchedulersResponse } from '../schemas.js';
import { type RouteDeps } from './route-deps.js';

/** Live schedulers and the tasks each owns according to the leader's assignment. */
export function registerSchedulerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get(
    '/schedulers',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags: ['cluster'],
        summary: 'Live schedulers and the tasks each owns',
        response: { 200: SchedulersResponse },
      },
    },
    async () => {
      const [members, assignment] = await Promise.all([deps.cluster.members(), deps.cluster.assignment()]);
      const owners = assignment?.owners ?? {};
      const live = new Set(members.map((member) => member.id));
      return {
        generation: assignment?.generation ?? null,
        updatedAt: assignment?.updatedAt ?? null,
        schedulers: members.map((member) => ({ ...member, tasks: [...(owners[member.id] ?? [])] })),
        // Owners the assignment still names but that are gone: the leader has not caught up yet.
        departed: Object.keys(owners).filter((id) => !live.has(id)),
      };
    },
  );
}
