import type { SessionStats, Stats } from './api.js';
import { one } from './dom.js';
import { formatNumber, formatPercent, type NumberKind } from './format.js';

export interface CardDef<T> {
  /** The card's `data-card` in index.html. */
  key: string;
  label: string;
  kind: NumberKind;
  value(data: T): number;
}

export const STAT_CARDS: CardDef<Stats>[] = [
  { key: 'totalActions', label: 'Total actions', kind: 'integer', value: (s) => s.totalActions },
  { key: 'totalUsers', label: 'Total users', kind: 'integer', value: (s) => s.totalUsers },
  { key: 'usersWithActions', label: 'Users with actions', kind: 'integer', value: (s) => s.usersWithActions },
  { key: 'actionsPerUser', label: 'Actions per user', kind: 'ratio', value: (s) => s.actionsPerUser },
  { key: 'gini', label: 'Activity distribution (Gini)', kind: 'gini', value: (s) => s.gini },
  { key: 'apiHits', label: 'API hits', kind: 'integer', value: (s) => s.apiHits },
];

export const SESSION_CARDS: CardDef<SessionStats>[] = [
  { key: 'sessions', label: 'Sessions', kind: 'integer', value: (s) => s.sessions },
  { key: 'bounceRate', label: 'Bounce rate', kind: 'percent', value: (s) => s.bounceRate },
  {
    key: 'medianDurationMs',
    label: 'Median session duration',
    kind: 'duration',
    value: (s) => s.medianDurationMs,
  },
  { key: 'pagesPerSession', label: 'Pages per session', kind: 'ratio', value: (s) => s.pagesPerSession },
];

/** The extra text and graphics of the statistic cards (share of users, Gini meter). */
export function decorateStatCards(stats: Stats, card: (key: string) => HTMLElement): void {
  const sub = card('usersWithActions').querySelector('[data-sub]');
  if (sub)
    sub.textContent =
      stats.totalUsers > 0
        ? `${formatPercent(stats.usersWithActions / stats.totalUsers)} of users in scope`
        : 'at least one interaction';
  const meter = card('gini').querySelector<HTMLElement>('.meter-fill');
  if (meter) meter.style.width = `${Math.round(Math.min(1, Math.max(0, stats.gini)) * 100)}%`;
}

const DURATION_MS = 700;
const reducedMotion = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;

interface CardState {
  el: HTMLElement;
  valueEl: HTMLElement;
  kind: NumberKind;
  shown: number;
  frame: number;
}

/**
 * A row of number cards. Each value counts from the last shown number to the new one; the exact value
 * is kept in `data-value` and announced once, after the change, through a polite live region (the
 * animated digits themselves are hidden from screen readers so they are not read out frame by frame).
 */
export class Cards<T> {
  private readonly cards = new Map<string, CardState>();
  private lastAnnounced = '';

  constructor(
    root: HTMLElement,
    private readonly live: HTMLElement,
    private readonly defs: readonly CardDef<T>[],
    private readonly decorate?: (data: T, card: (key: string) => HTMLElement) => void,
  ) {
    for (const { key, kind } of defs) {
      const el = one(root, `[data-card="${key}"]`);
      this.cards.set(key, { el, valueEl: one(el, '.card-value'), kind, shown: 0, frame: 0 });
    }
  }

  loading(on: boolean): void {
    for (const card of this.cards.values()) card.el.classList.toggle('is-loading', on);
  }

  update(data: T): void {
    for (const def of this.defs) this.animate(this.cards.get(def.key)!, def.value(data));
    this.decorate?.(data, (key) => this.cards.get(key)!.el);

    const text = this.defs
      .map(({ label, kind, value }) => `${label}: ${formatNumber(value(data), kind)}`)
      .join('. ');
    if (text !== this.lastAnnounced) {
      this.lastAnnounced = text;
      this.live.textContent = text;
    }
  }

  private animate(card: CardState, target: number): void {
    card.el.dataset.value = String(target);
    cancelAnimationFrame(card.frame);
    const from = card.shown;
    if (from === target || reducedMotion() || !card.el.isConnected) {
      this.show(card, target);
      return;
    }
    card.el.classList.remove('bump');
    // Restart the highlight animation on every change.
    void card.el.offsetWidth;
    card.el.classList.add('bump');
    const start = performance.now();
    const step = (now: number) => {
      const t = Math.min(1, (now - start) / DURATION_MS);
      const eased = 1 - (1 - t) ** 3;
      if (t >= 1) {
        this.show(card, target);
        return;
      }
      const value = from + (target - from) * eased;
      card.valueEl.textContent = formatNumber(card.kind === 'integer' ? Math.round(value) : value, card.kind);
      card.frame = requestAnimationFrame(step);
    };
    card.frame = requestAnimationFrame(step);
  }

  private show(card: CardState, value: number): void {
    card.shown = value;
    card.valueEl.textContent = formatNumber(value, card.kind);
    card.el.dataset.shown = String(value);
  }
}
