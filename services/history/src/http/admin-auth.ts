import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, NonoError } from '@nono/domain';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { ProblemError, ProblemType } from './problem.js';

/** The SHA-256 of a token, as configured in NONO_HISTORY_ADMIN_TOKENS (`nono-history hash-token <token>`). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Parses the configured hashes (64 hex digits each); a bad one fails start-up, naming the variable. */
export function parseTokenHashes(items: readonly string[], variable: string): Buffer[] {
  return items.map((item, index) => {
    if (!/^[0-9a-fA-F]{64}$/.test(item))
      throw new NonoError(
        ErrorCode.InvalidConfig,
        `${variable} item ${index + 1} is not valid: expected the 64-hex-digit SHA-256 of a token (print one with "nono-history hash-token <token>")`,
      );
    return Buffer.from(item, 'hex');
  });
}

/**
 * Whether an `Authorization` header carries a bearer token whose SHA-256 is configured.
 * Only hashes are held (a leaked configuration leaks no token), and every one is compared
 * in constant time, so timing tells nothing about how close a guess was.
 */
export function isAdminAuthorized(header: string | undefined, hashes: readonly Buffer[]): boolean {
  const match = /^Bearer +(\S+)\s*$/i.exec(header ?? '');
  const token = match?.[1];
  if (token === undefined) return false;
  const digest = createHash('sha256').update(token, 'utf8').digest();
  let found = false;
  for (const hash of hashes) if (timingSafeEqual(hash, digest)) found = true;
  return found;
}

/**
 * An onRequest hook that lets through only a bearer token whose SHA-256 is in `hashes`. It
 * runs before the body and the query are looked at: an unauthenticated caller learns nothing.
 */
export function requireBearer(
  hashes: readonly Buffer[],
  realm: string,
  disabled: string,
): (request: FastifyRequest, reply: FastifyReply, done: () => void) => void {
  return (request, reply, done) => {
    if (!isAdminAuthorized(request.headers.authorization, hashes)) {
      void reply.header('www-authenticate', `Bearer realm="${realm}"`);
      throw new ProblemError(
        ProblemType.Unauthorized,
        hashes.length === 0 ? disabled : 'missing or unknown bearer token',
      );
    }
    done();
  };
}
