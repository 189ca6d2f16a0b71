import { call, enc, get } from '../api.js';
import { confirmAction, formatInstant, formatRelative, h, show, table } from '../dom.js';
import { say, sayError } from '../notify.js';

/**
 * Named API tokens (admins only; the API answers 403 to anyone else). Creating one shows its
 * secret once, in this page, until the next navigation; the list never holds a secret.
 */
export function tokensView() {
  const list = h('div');
  const secretBox = h('div', { id: 'token-secret', class: 'secret', hidden: true });
  const nameInput = h('input', { name: 'name', id: 't-name', placeholder: 'ci-deploy', required: true });
  const roleSelect = h(
    'select',
    { name: 'role', id: 't-role' },
    ['viewer', 'operator', 'admin'].map((role) => h('option', { value: role }, role)),
  );
  const expiresInput = h('input', {
    name: 'expiresDays',
    id: 't-expires',
    type: 'number',
    min: 1,
    placeholder: 'never',
  });
  const form = h(
    'form',
    { class: 'token-form', autocomplete: 'off' },
    h('label', {}, 'Name ', nameInput),
    h('label', {}, 'Role ', roleSelect),
    h('label', {}, 'Expires in days ', expiresInput),
    h('button', { type: 'submit', class: 'primary' }, 'Create token'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const days = Number(expiresInput.value);
    const body = { name: nameInput.value.trim(), role: roleSelect.value };
    if (expiresInput.value !== '') body.expiresAt = new Date(Date.now() + days * 86_400_000).toISOString();
    try {
      const created = (await call('POST', '/tokens', { body })).body;
      show(
        secretBox,
        h(
          'p',
          {},
          `Token ${created.name} (${created.role}) created. Copy its secret now: it is not shown again.`,
        ),
        h('code', { class: 'mono' }, created.token),
      );
      secretBox.hidden = false;
      form.reset();
      say(`token ${created.name} created`);
      await view.refresh();
    } catch (error) {
      sayError(error);
    }
  });

  const row = (t) =>
    h(
      'tr',
      { 'data-token': t.name },
      h('td', { class: 'mono' }, t.name),
      h('td', {}, t.role),
      h('td', {}, formatInstant(t.createdAt)),
      h('td', { class: 'mono' }, t.createdBy),
      h(
        'td',
        { class: t.expired ? 'error' : '' },
        t.expiresAt === null ? 'never' : `${formatInstant(t.expiresAt)}${t.expired ? ' (expired)' : ''}`,
      ),
      h('td', {}, t.lastUsedAt === null ? 'never' : formatRelative(t.lastUsedAt)),
      h(
        'td',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: async () => {
              if (!(await confirmAction(`Revoke token ${t.name}? It is refused from now on.`, 'Revoke')))
                return;
              try {
                await call('DELETE', `/tokens/${enc(t.name)}`);
                say(`token ${t.name} revoked`);
                await view.refresh();
              } catch (error) {
                sayError(error);
              }
            },
          },
          'Revoke',
        ),
      ),
    );

  const view = {
    autoRefresh: true,
    element: h(
      'section',
      {},
      h('h2', {}, 'API tokens'),
      h(
        'p',
        { class: 'muted' },
        'Named tokens (admins only). The audit trail names what each one did. Tokens from NONO_API_TOKENS are not listed.',
      ),
      form,
      secretBox,
      list,
    ),
    async refresh() {
      const { items } = await get('/tokens');
      show(
        list,
        table(['name', 'role', 'created', 'by', 'expires', 'last used', ''], items.map(row), {
          empty: 'No named tokens yet.',
        }),
      );
    },
  };
  return view;
}
