import type { Stats } from './api.js';
import { one } from './dom.js';
import { formatNumber, formatPercent, type NumberKind } from './format.js';

type CardKey = 'totalActions' | 'totalUsers' | 'usersWithActions' | 'actionsPerUser' | 'gini' | 'apiHits';

const CARDS: { key: CardKey; label: string; kind: NumberKind }[] = [
  { key: 'totalActions', label: 'Total actions', kind: 'integer' },
  { key: 'totalUsers', label: 'Total users', kind: 'integer' },
  { key: 'usersWithActions', label: 'Users with actions', kind: 'integer' },
  { key: 'actionsPerUser', label: 'Actions per user', kind: 'ratio' },
  { key: 'gini', label: 'Activity distribution (Gini)', kind: 'gini' },
  { key: 'apiHits', label: 'API hits', kind: 'integer' },
];

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
 * The statistic cards. Each value counts from the last shown number to the new one; the exact value
 * is kept in `data-value` and announced once, after the change, through a polite live region (the
 * animated digits themselves are hidden from screen readers so they are not read out frame by frame).
 */
export class Cards {
  private readonly cards = new Map<CardKey, CardState>();
  private lastAnnounced = '';

  constructor(
    root: HTMLElement,
    private readonly live: HTMLElement,
  ) {
    for (const { key, kind } of CARDS) {
      const el = one(root, `[data-card="${key}"]`);
      this.cards.set(key, { el, valueEl: one(el, '.card-value'), kind, shown: 0, frame: 0 });
    }
  }

  loading(on: boolean): void {
    for (const card of this.cards.values()) card.el.classList.toggle('is-loading', on);
  }

  update(stats: Stats): void {
    for (const { key } of CARDS) this.animate(this.cards.get(key)!, stats[key]);
    const sub = this.cards.get('usersWithActions')!.el.querySelector('[data-sub]');
    if (sub)
      sub.textContent =
        stats.totalUsers > 0
          ? `${formatPercent(stats.usersWithActions / stats.totalUsers)} of users in scope`
          : 'at least one interaction';
    const meter = this.cards.get('gini')!.el.querySelector<HTMLElement>('.meter-fill');
    if (meter) meter.style.width = `${Math.round(Math.min(1, Math.max(0, stats.gini)) * 100)}%`;

    const text = CARDS.map(({ key, label, kind }) => `${label}: ${formatNumber(stats[key], kind)}`).join(
      '. ',
    );
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
