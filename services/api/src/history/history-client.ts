import { request } from 'undici';
import { ApiError, ApiErrorCode } from '../errors.js';

export interface ForwardedResponse {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Buffer;
  /** Which history replica answered: its 1-based position in NONO_HISTORY_URLS. */
  readonly replica?: number;
}

/** The history service, reached over HTTP. Only GETs: the API never changes history. */
export interface HistoryClient {
  /**
   * `actor` names the API caller a query is made for; history logs it (Nono-Actor).
   * `timeoutMs` replaces the client's own timeout for this request (a readiness probe).
   */
  get(pathAndQuery: string, options?: { actor?: string; timeoutMs?: number }): Promise<ForwardedResponse>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export class UndiciHistoryClient implements HistoryClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #token: string | undefined;

  /** `token`: the API's own bearer token for history's query routes (NONO_HISTORY_READ_TOKEN). */
  constructor(options: { baseUrl: string; timeoutMs: number; token?: string | undefined }) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    this.#token = options.token;
  }

  async get(
    pathAndQuery: string,
    options: { actor?: string; timeoutMs?: number } = {},
  ): Promise<ForwardedResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (options.actor !== undefined) headers['nono-actor'] = options.actor;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    try {
      const response = await request(`${this.#baseUrl}${pathAndQuery}`, {
        method: 'GET',
        headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      if (body.length > MAX_BODY_BYTES)
        throw new ApiError(
          ApiErrorCode.HistoryUnavailable,
          'the history service answered with an oversized body',
        );
      const contentType = response.headers['content-type'];
      return {
        status: response.statusCode,
        contentType: Array.isArray(contentType) ? contentType[0] : contentType,
        body,
      };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      // Connection refused, reset or timed out: the client learns history is unreachable, not our host names.
      throw new ApiError(ApiErrorCode.HistoryUnavailable, 'the history service did not answer');
    }
  }
}
