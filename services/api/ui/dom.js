// DOM helpers. Everything shown is inserted as text (textContent / attributes), never HTML.
import { FAILED_EXECUTION_STATUSES } from './execution-statuses.js';

export const $ = (selector, root = document) => root.querySelector(selector);

/** h('a', { href: '#/x', class: 'y', onclick }, 'text', child): an element. */
export function h(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** s('rect', { x: 1 }, ...): the same for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

function fill(element, attrs, children) {
  applyAttrs(element, attrs);
  element.append(
    ...children
      .flat()
      .filter((c) => c !== null && c !== undefined && c !== false)
      .map(toNode),
  );
  return element;
}

function toNode(child) {
  return child instanceof Node ? child : document.createTextNode(String(child));
}

function applyAttrs(element, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
}

/** Replaces a container's children, skipping absent ones (null would render as "null"). */
export function show(container, ...children) {
  container.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** An event's detail object as short text: `acquired: a, b; ownedCount: 2`, empty lists left out. */
export function describeDetail(detail) {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  return Object.entries(detail)
    .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(
      ([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : v}`,
    )
    .join('; ');
}

/** `nono.task.defined.v1` → `task defined`. */
export function eventName(type) {
  return type
    .replace(/^nono\./, '')
    .replace(/\.v\d+$/, '')
    .replace(/\./g, ' ');
}

export function table(headers, rows, { empty = 'Nothing yet.' } = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t) => h('th', {}, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

export function formatInstant(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { hour12: false });
}

export function formatRelative(iso, now = Date.now()) {
  if (!iso) return '';
  const delta = new Date(iso).getTime() - now;
  const abs = Math.abs(delta);
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 86_400_000
          ? `${(abs / 3_600_000).toFixed(1)} h`
          : `${(abs / 86_400_000).toFixed(1)} d`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/** 250 → "250 ms", 1500 → "1.5 s", 5000 → "5 s", 15000 → "15 s", 90000 → "1.5 min": no trailing zeros. */
export function formatMs(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${trimmed(ms / 1000, ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${trimmed(ms / 60_000, 1)} min`;
  if (ms < 86_400_000) return `${trimmed(ms / 3_600_000, 1)} h`;
  return `${trimmed(ms / 86_400_000, 1)} d`;
}

const trimmed = (value, digits) => String(Number(value.toFixed(digits)));

export function describeSchedule(schedule) {
  if (schedule.kind === 'cron') return `${schedule.expression} (${schedule.timeZone})`;
  if (schedule.kind === 'interval') return `every ${formatMs(schedule.everyMs)}`;
  return `once at ${formatInstant(schedule.at)}`;
}

/**
 * A task's state in one word, as the CLI says it: "active" (not paused) or "paused" with its note.
 * Not "running": that is an execution's status (a call in progress).
 */
export function taskState(task) {
  return task.paused ? `paused${task.pausedNote ? `: ${task.pausedNote}` : ''}` : 'active';
}

/** Statuses that mean something went wrong: shown in red everywhere. */
export const FAILURES = new Set([...FAILED_EXECUTION_STATUSES, 'unaccounted']); // unaccounted: a ledger outcome

export function statusBadge(status) {
  const kind = FAILURES.has(status) ? 'bad' : status === 'succeeded' ? 'good' : 'neutral';
  return h('span', { class: `badge ${kind}` }, status ?? '—');
}

/** Asks in the page's <dialog>; resolves true only on the explicit confirm button. */
export function confirmAction(text, confirmLabel = 'Delete') {
  const dialog = $('#confirm');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = confirmLabel;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}
