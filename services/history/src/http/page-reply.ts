import { type FastifyReply } from 'fastify';
import { toCsv } from './csv.js';

/**
 * A list page as JSON `{ items, nextCursor }` or as CSV (the cursor then travels in the
 * `Nono-Next-Cursor` header, so a script can still page through a CSV export).
 */
export function sendPage(
  reply: FastifyReply,
  options: {
    csv: boolean;
    columns: readonly string[];
    items: readonly Record<string, unknown>[];
    nextCursor: string | null;
    filename: string;
  },
): FastifyReply {
  if (!options.csv) return reply.send({ items: options.items, nextCursor: options.nextCursor });
  if (options.nextCursor !== null) void reply.header('nono-next-cursor', options.nextCursor);
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${options.filename}.csv"`)
    .send(toCsv(options.columns, options.items));
}
