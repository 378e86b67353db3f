import type { SessionStats } from './api.js';
import { Cards, SESSION_CARDS } from './cards.js';
import { h, one } from './dom.js';
import { formatDuration, formatNumber, formatPercent } from './format.js';

/** Entry and exit pages listed in the row (the API's `top`). */
export const TOP_SESSION_PAGES = 5;

interface RankItem {
  page: string;
  /** What the list shows on the right. */
  value: string;
  /** The same with its unit, for screen readers and the tooltip. */
  detail: string;
}

/**
 * The sessions row: four number cards (animated like the statistic cards, the mean duration as the
 * median's secondary text) and the top entry and exit pages. Lists are replaced only when their
 * content changes, so a live refresh with the same numbers touches nothing.
 */
export class SessionsRow {
  private readonly cards: Cards<SessionStats>;
  private readonly entry: HTMLOListElement;
  private readonly exit: HTMLOListElement;
  private shownLists = '';

  constructor(root: HTMLElement, live: HTMLElement) {
    this.cards = new Cards(one(root, '.cards'), live, SESSION_CARDS, (stats, card) => {
      one(card('medianDurationMs'), '[data-sub]').textContent =
        `mean ${formatDuration(stats.meanDurationMs)}`;
    });
    this.entry = one<HTMLOListElement>(root, '[data-list="entry"] ol');
    this.exit = one<HTMLOListElement>(root, '[data-list="exit"] ol');
  }

  loading(on: boolean): void {
    this.cards.loading(on);
  }

  update(stats: SessionStats): void {
    this.cards.update(stats);
    const entry = stats.entryPages.map(
      (p): RankItem => ({
        page: p.page,
        value: formatNumber(p.sessions, 'integer'),
        detail: `${formatNumber(p.sessions, 'integer')} ${p.sessions === 1 ? 'session starts' : 'sessions start'} here`,
      }),
    );
    const exit = stats.exitPages.map(
      (p): RankItem => ({
        page: p.page,
        value: formatPercent(p.exitRate),
        detail: `exit rate ${formatPercent(p.exitRate)}: ${formatNumber(p.sessions, 'integer')} ${p.sessions === 1 ? 'session ends' : 'sessions end'} here, of ${formatNumber(p.sessionsWithPage, 'integer')} that ${p.sessionsWithPage === 1 ? 'includes' : 'include'} it`,
      }),
    );
    const lists = JSON.stringify([entry, exit]);
    if (lists === this.shownLists) return;
    this.shownLists = lists;
    this.fill(this.entry, entry);
    this.fill(this.exit, exit);
  }

  private fill(list: HTMLOListElement, items: RankItem[]): void {
    if (items.length === 0) {
      list.replaceChildren(h('li', { class: 'rank-empty muted' }, 'No sessions in this range'));
      return;
    }
    list.replaceChildren(
      ...items.map((item) =>
        h(
          'li',
          { title: `${item.page}: ${item.detail}` },
          h('span', { class: 'rank-page' }, item.page),
          h('span', { class: 'rank-value', 'aria-hidden': 'true' }, item.value),
          h('span', { class: 'sr-only' }, `: ${item.detail}`),
        ),
      ),
    );
  }
}
