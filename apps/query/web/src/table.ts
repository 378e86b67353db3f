import type { InteractionItem, InteractionPage } from './api.js';
import { h } from './dom.js';
import { formatFullTime, formatTime, truncate } from './format.js';

function propertiesText(properties: Record<string, unknown>): string {
  const entries = Object.entries(properties ?? {});
  if (entries.length === 0) return '';
  return entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ');
}

function row(item: InteractionItem): HTMLTableRowElement {
  const props = propertiesText(item.properties);
  // Explicit roles keep the table semantics when the phone layout turns rows into grids.
  const tr = h(
    'tr',
    { 'data-event-id': item.eventId, role: 'row' },
    h(
      'td',
      { class: 'col-time', role: 'cell' },
      h(
        'time',
        { datetime: item.occurredAt, title: formatFullTime(item.occurredAt) },
        formatTime(item.occurredAt),
      ),
    ),
    h(
      'td',
      { class: 'col-user mono', role: 'cell' },
      h('span', { class: 'clip', title: item.userId }, truncate(item.userId, 200)),
    ),
    h(
      'td',
      { class: 'col-role', role: 'cell' },
      h('span', { class: `badge badge-${item.role.toLowerCase()}` }, item.role),
    ),
    h('td', { class: 'col-action', role: 'cell' }, h('span', { class: 'tag' }, item.action)),
    h(
      'td',
      { class: 'col-page mono', role: 'cell' },
      h('span', { class: 'clip', title: item.page }, truncate(item.page, 200)),
    ),
    h(
      'td',
      { class: 'col-props muted', role: 'cell' },
      h('span', { class: 'clip', title: props }, truncate(props, 200)),
    ),
  );
  return tr;
}

/**
 * The interactions table. Rows are keyed by eventId: a refresh keeps the rows it already shows,
 * inserts the new ones (briefly highlighted) and drops those that fell off the page, so live updates
 * neither flash the table nor move the reader.
 */
export class InteractionsTable {
  private readonly rows = new Map<string, HTMLTableRowElement>();

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly columns: number,
  ) {}

  render(page: InteractionPage, opts: { highlightNew: boolean; emptyText: string }): number {
    if (page.items.length === 0) {
      this.rows.clear();
      this.body.replaceChildren(
        h(
          'tr',
          { class: 'empty-row', role: 'row' },
          h('td', { colspan: String(this.columns), role: 'cell' }, opts.emptyText),
        ),
      );
      return 0;
    }
    const wanted = new Set(page.items.map((item) => item.eventId));
    for (const [id, tr] of this.rows) {
      if (!wanted.has(id)) {
        tr.remove();
        this.rows.delete(id);
      }
    }
    for (const child of [...this.body.children]) if (!(child as HTMLElement).dataset.eventId) child.remove();
    let added = 0;
    let previous: HTMLTableRowElement | null = null;
    for (const item of page.items) {
      let tr = this.rows.get(item.eventId);
      if (!tr) {
        tr = row(item);
        this.rows.set(item.eventId, tr);
        if (opts.highlightNew) tr.classList.add('is-new');
        added += 1;
      }
      const expected: Element | null = previous ? previous.nextElementSibling : this.body.firstElementChild;
      if (expected !== tr) {
        if (previous) previous.after(tr);
        else this.body.prepend(tr);
      }
      previous = tr;
    }
    return added;
  }
}
