// A list page over one of history's keyset-paged routes: filters kept in the URL hash (so a
// view can be shared), ← Newer / page N / Older → over the cursors already seen.
import { h } from './dom.js';
import { sayError } from './notify.js';

/**
 * `route`: the page's hash without its query (`#/executions`); `names`: the filter fields of
 * `form` that go into the hash. `reload` fetches the page at `cursor()` and hands the answer to
 * `shown`. Auto-refresh reloads the page being looked at.
 */
export function keysetList({ route, form, names, reload }) {
  // cursors[i] opens page i; page 0 has none.
  const cursors = [null];
  let nextCursor = null;
  const again = () => void reload().catch(sayError);
  const back = h(
    'button',
    { type: 'button', disabled: true, onclick: () => (cursors.pop(), again()) },
    '← Newer',
  );
  const next = h(
    'button',
    { type: 'button', disabled: true, onclick: () => (cursors.push(nextCursor), again()) },
    'Older →',
  );
  const where = h('span', { class: 'muted' });
  return {
    pager: h('div', { class: 'pager' }, back, where, next),
    /** The filters as typed, blank ones left out. */
    filters() {
      const values = new URLSearchParams();
      for (const name of names) {
        const value = form.elements.namedItem(name).value.trim();
        if (value) values.set(name, value);
      }
      return values;
    },
    /** Puts the filters in the URL: a new hash re-creates the view from it, the same one reloads page 1. */
    apply() {
      const shown = this.filters();
      const hash = `${route}${shown.size > 0 ? `?${shown}` : ''}`;
      if (hash !== location.hash) location.hash = hash;
      else {
        cursors.splice(1);
        again();
      }
    },
    cursor: () => cursors.at(-1),
    /** After a page arrived: its cursor onwards, and where we are. */
    shown(page) {
      nextCursor = page.nextCursor;
      back.disabled = cursors.length <= 1;
      next.disabled = !nextCursor;
      where.textContent = `page ${cursors.length}`;
    },
  };
}

/** The hash's query: the filters a list page starts with. */
export function hashParams() {
  return new URLSearchParams(location.hash.split('?')[1] ?? '');
}
