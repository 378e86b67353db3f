import type { Properties } from './types.js';
import { cleanProperties, cut } from './util.js';

/** Longest `text` property of a click. */
export const MAX_TEXT = 80;

/** A URL as a same-origin path, or origin + path elsewhere; never its query string or fragment (tokens live there). */
export function urlPath(url: string): string {
  try {
    const u = new URL(url, location.href);
    return (u.origin === location.origin ? '' : u.origin) + u.pathname;
  } catch {
    return '';
  }
}

/** The element's data-* attributes, named as written (`data-plan`). */
function dataAttributes(el: Element): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of Array.from(el.attributes)) if (a.name.startsWith('data-')) out[a.name] = a.value;
  return out;
}

/**
 * What a click tells: tag, id, visible text (whitespace collapsed, at most 80 chars), the link's
 * path for anchors, and the data-* attributes. Never a field's value: inputs give their label only
 * when they are buttons.
 */
export function clickProperties(el: Element): Properties {
  const p: Properties = { tag: el.tagName.toLowerCase() };
  if (el.id) p.id = el.id;
  const type = (el.getAttribute('type') || '').toLowerCase();
  const field = /^(INPUT|TEXTAREA|SELECT|OPTION)$/.test(el.tagName) || (el as HTMLElement).isContentEditable;
  let text = field
    ? /^(submit|button|reset)$/.test(type)
      ? el.getAttribute('value') || ''
      : ''
    : el.textContent || '';
  text = text.replace(/\s+/g, ' ').trim();
  if (text) p.text = text.length > MAX_TEXT ? `${cut(text, MAX_TEXT - 1)}…` : text;
  const href = el.getAttribute('href');
  if (el.tagName === 'A' && href) p.href = urlPath(href);
  return cleanProperties(dataAttributes(el), p);
}

/**
 * What a form submission tells: the form's id, name, action path and method, and its data-*
 * attributes. Read from attributes, not from `form.name`/`form.action`, which a field named
 * "name" or "action" would shadow; no field value is ever read.
 */
export function formProperties(form: Element): Properties {
  const p: Properties = {};
  const id = form.getAttribute('id');
  const name = form.getAttribute('name');
  if (id) p.id = id;
  if (name) p.name = name;
  p.action = urlPath(form.getAttribute('action') || location.href);
  p.method = (form.getAttribute('method') || 'get').toLowerCase();
  return cleanProperties(dataAttributes(form), p);
}
