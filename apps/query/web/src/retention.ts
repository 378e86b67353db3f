import type { Retention } from './api.js';
import { h } from './dom.js';
import type { RetentionOptions } from './filters.js';
import { formatDay, formatMonth, formatNumber, formatPercent } from './format.js';

type Period = RetentionOptions['period'];

/** What the table counts, in a sentence (under the title, and the table's caption). */
export function describeRetention(options: RetentionOptions): string {
  const period = options.period;
  const cohorts =
    options.cohort === 'first'
      ? `users by the ${period} of their first activity`
      : `users by each ${period} they were active in`;
  const back = options.mode === 'on' ? `active in that ${period}` : `active in that ${period} or later`;
  const weeks = options.period === 'week' ? ' (weeks start on Monday)' : '';
  return `Cohorts: ${cohorts}${weeks}. Each cell: the share of the cohort ${back}.`;
}

function cohortLabel(start: string, period: Period, withYear: boolean): string {
  return period === 'month' ? formatMonth(start) : formatDay(start, withYear);
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A heat-map cell: the share as text and colour, the count in the tooltip and for screen readers. */
function shareCell(attrs: Record<string, string>, share: number | null, title: string, spoken?: string) {
  if (share === null) return h('td', { ...attrs, class: 'heat heat-none' });
  const cell = h(
    'td',
    { ...attrs, class: 'heat', title, 'data-share': String(share) },
    h('span', { class: 'heat-value' }, formatPercent(share)),
    spoken && h('span', { class: 'sr-only' }, spoken),
  );
  cell.style.setProperty('--share', `${Math.round(Math.min(1, Math.max(0, share)) * 100)}%`);
  return cell;
}

/**
 * The cohort triangle as a heat-map table: one row per cohort, its size, then the share back in each
 * later period. Null cells (periods not begun) stay empty; the period under way is marked (dashed, and
 * said in the tooltip and to screen readers); the weighted mean closes the table. The table is
 * rebuilt only when the answer changes.
 */
export class RetentionTable {
  private shown = '';

  constructor(
    private readonly table: HTMLTableElement,
    private readonly summary: HTMLElement,
  ) {}

  update(data: Retention, options: RetentionOptions): void {
    const signature = JSON.stringify([data.period, data.rows, data.mean, options]);
    if (signature === this.shown) return;
    this.shown = signature;

    const period = data.period;
    const columns = Math.max(data.mean.length, ...data.rows.map((r) => r.cells.length));
    const withYear = new Set(data.rows.map((r) => r.start.slice(0, 4))).size > 1;
    const description = describeRetention(options);
    this.summary.textContent = description;
    if (this.table.caption) this.table.caption.textContent = `Retention. ${description}`;

    const head = h(
      'tr',
      {},
      h(
        'th',
        { scope: 'col', class: 'heat-col heat-cohort' },
        period === 'week' ? 'Week of' : capitalized(period),
      ),
      h('th', { scope: 'col', class: 'heat-col' }, 'Users'),
      ...Array.from({ length: columns }, (_, k) =>
        h('th', { scope: 'col', class: 'heat-col' }, `${capitalized(period)} ${k}`),
      ),
    );

    const rows = data.rows.map((row) => {
      const label = cohortLabel(row.start, period, withYear);
      return h(
        'tr',
        { 'data-start': row.start },
        h('th', { scope: 'row', class: 'heat-cohort' }, label),
        h('td', { class: 'heat-size' }, formatNumber(row.size, 'integer')),
        ...Array.from({ length: columns }, (_, k) => {
          const count = row.cells[k] ?? null;
          const share = count === null ? null : (row.shares[k] ?? null);
          const partial = row.partial === k;
          const attrs: Record<string, string> = { 'data-k': String(k) };
          if (count !== null) attrs['data-count'] = String(count);
          const of = `${formatNumber(count ?? 0, 'integer')} of ${formatNumber(row.size, 'integer')} users`;
          const underWay = partial ? `, so far: ${period} ${k} is under way` : '';
          const cell = shareCell(
            attrs,
            share,
            `${label} cohort, ${period} ${k}: ${of} (${formatPercent(share ?? 0)})${underWay}`,
            ` (${of}${partial ? `, ${period} under way` : ''})`,
          );
          if (partial) {
            cell.classList.add('is-partial');
            cell.dataset.partial = 'true';
          }
          return cell;
        }),
      );
    });
    const body =
      rows.length > 0
        ? rows
        : [
            h(
              'tr',
              {},
              h('td', { class: 'heat-empty', colspan: String(columns + 2) }, 'No users in this range.'),
            ),
          ];

    const mean = h(
      'tr',
      { class: 'heat-mean' },
      h('th', { scope: 'row', class: 'heat-cohort' }, 'Mean'),
      h('td', { class: 'heat-size muted', title: 'Weighted by cohort size' }, 'weighted'),
      ...Array.from({ length: columns }, (_, k) => {
        const share = data.mean[k] ?? null;
        return shareCell(
          { 'data-k': String(k) },
          share,
          `Mean, ${period} ${k}: ${formatPercent(share ?? 0)} of the users of the cohorts whose ${period} ${k} has ended`,
        );
      }),
    );

    this.table.tHead?.replaceChildren(head);
    this.table.tBodies[0]?.replaceChildren(...body);
    this.table.tFoot?.replaceChildren(mean);
  }
}
