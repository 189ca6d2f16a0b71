// The only place that talks to the API. Errors arrive as problem+json (RFC 9457); they
// become ApiProblem with the per-field issues kept, so forms can put each under its field.
const API = '/api/v1';

export class ApiProblem extends Error {
  constructor(status, problem) {
    const fields = (problem?.errors ?? []).map((e) => `${e.field || '(body)'}: ${e.message}`).join('; ');
    const title = problem?.title ?? `HTTP ${status}`;
    // A 401's detail repeats its title word for word: say it once.
    const detail = problem?.detail && problem.detail !== title ? `: ${problem.detail}` : '';
    super(`${title}${detail}${fields ? ` (${fields})` : ''}`);
    this.status = status;
    this.code = problem?.code ?? `HTTP_${status}`;
    this.errors = problem?.errors ?? [];
  }
}

/** The API itself did not answer (network error): distinct from an error it answered with. */
export class ApiUnreachable extends Error {}

export function token() {
  return sessionStorage.getItem('nono-token') ?? '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem('nono-token', value);
  else sessionStorage.removeItem('nono-token');
  signedInAs = undefined;
}

// The role of the token in use (GET /whoami), so that views offer only what it may do.
const ROLES = ['viewer', 'operator', 'admin'];
let signedInAs;

/** Asks the API who the token is; resolves { role, actor } or throws its ApiProblem (401). */
export async function whoAmI() {
  signedInAs ??= await get('/whoami');
  return signedInAs;
}

/** Whether the signed-in token's role includes `needed` (viewer < operator < admin). */
export function can(needed) {
  return signedInAs !== undefined && ROLES.indexOf(signedInAs.role) >= ROLES.indexOf(needed);
}

export async function call(method, path, { body, headers = {} } = {}) {
  let response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiUnreachable('the nono API does not answer');
  }
  const text = response.status === 204 ? '' : await response.text();
  let payload = null;
  try {
    payload = text === '' ? null : JSON.parse(text);
  } catch {
    payload = null;
  }
  if (!response.ok) throw new ApiProblem(response.status, payload);
  return { body: payload, etag: response.headers.get('etag') };
}

export const get = async (path) => (await call('GET', path)).body;
export const enc = encodeURIComponent;

let known = { token: '', role: '' };
/** The token's role (GET /whoami), asked once per token: the UI hides what the role may not do. */
export async function role() {
  if (known.token !== token() || known.role === '')
    known = { token: token(), role: (await get('/whoami')).role };
  return known.role;
}

/** Operators and admins acknowledge and silence alerts, pause, resume and trigger. */
export async function mayOperate() {
  return ['operator', 'admin'].includes(await role());
}
