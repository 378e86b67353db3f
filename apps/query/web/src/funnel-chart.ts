import type { Funnel } from './api.js';
import { byId, dataTable, h } from './dom.js';
import { formatDuration, formatNumber, formatPercent } from './format.js';
import type { FunnelUnit } from './funnel-def.js';

/** `1 user`, `3 sessions`. */
export function countOf(n: number, unit: FunnelUnit): string {
  const word = unit === 'users' ? 'user' : 'session';
  return `${formatNumber(n, 'integer')} ${n === 1 ? word : `${word}s`}`;
}

const duration = (ms: number | null) => (ms === null ? '–' : formatDuration(ms));

interface BarRow {
  li: HTMLLIElement;
  label: HTMLElement;
  fill: HTMLElement;
  count: HTMLElement;
  conversion: HTMLElement;
  meta: HTMLElement;
}

/**
 * The funnel's steps as horizontal bars (the share of step 1 that reached each), with the count and
 * the conversion on the bar, and under it the share of the previous step, the drop-off and the
 * median and p90 time from the previous step. Each bar is a button that lists the step's units. A
 * new answer with as many steps changes the texts in place (a focused bar keeps the focus), and
 * nothing is touched when the answer is the same.
 */
export class FunnelChart {
  private readonly bars = byId<HTMLOListElement>('funnel-bars');
  private readonly roles = byId('funnel-roles-table');
  private rows: BarRow[] = [];
  private shown = '';
  private selected: number | null = null;

  constructor(private readonly onSelect: (step: number) => void) {}

  update(answer: Funnel): void {
    const signature = JSON.stringify([answer.steps, answer.byRole, answer.definition.unit]);
    if (signature === this.shown) return;
    this.shown = signature;
    const unit = answer.definition.unit;
    if (this.rows.length !== answer.steps.length) {
      this.rows = answer.steps.map((s) => this.row(s.step));
      this.bars.replaceChildren(...this.rows.map((r) => r.li));
    }
    answer.steps.forEach((s, i) => {
      const row = this.rows[i]!;
      // The exact numbers, beside their rounded text (for tests and anyone reading the page's data).
      Object.assign(row.li.dataset, {
        count: String(s.count),
        conversion: String(s.conversion),
        fromPrevious: String(s.fromPrevious),
        dropOff: String(s.dropOff),
        medianMs: String(s.medianMs),
        p90Ms: String(s.p90Ms),
      });
      row.label.textContent = s.label;
      row.label.title = s.label;
      row.fill.style.width = `${Math.round(Math.min(1, Math.max(0, s.conversion)) * 1000) / 10}%`;
      row.count.textContent = countOf(s.count, unit);
      row.conversion.textContent = formatPercent(s.conversion);
      if (s.step === 1) return;
      const [fromPrevious, dropOff, median, p90] = row.meta.children;
      fromPrevious!.textContent = `${formatPercent(s.fromPrevious)} of step ${s.step - 1}`;
      dropOff!.textContent = `${formatNumber(s.dropOff, 'integer')} dropped off`;
      median!.textContent = `median ${duration(s.medianMs)}`;
      p90!.textContent = `p90 ${duration(s.p90Ms)}`;
    });
    this.select(this.selected);

    const steps = answer.steps.map((s) => `Step ${s.step}`);
    this.roles.replaceChildren(
      answer.byRole.length === 0
        ? h('p', { class: 'muted' }, 'Nobody entered the funnel.')
        : dataTable(
            `${unit === 'users' ? 'Users' : 'Sessions'} reaching each step, by the role of their entry event`,
            ['Role', ...steps],
            answer.byRole.map((r) => [r.role, ...r.counts.map((c) => formatNumber(c, 'integer'))]),
          ),
    );
  }

  /** Marks the bar whose units are listed (null: none). */
  select(step: number | null): void {
    this.selected = step;
    for (const [i, row] of this.rows.entries()) {
      const on = i + 1 === step;
      row.li.classList.toggle('is-selected', on);
      row.li.querySelector('.funnel-bar')?.setAttribute('aria-expanded', String(on));
    }
  }

  clear(): void {
    this.shown = '';
    this.selected = null;
    this.rows = [];
    this.bars.replaceChildren();
    this.roles.replaceChildren();
  }

  /** One step's bar (a button) and the line under it; update() fills in the numbers. */
  private row(step: number): BarRow {
    const sr = (text: string) => h('span', { class: 'sr-only' }, text);
    const label = h('span', { class: 'funnel-label-text' });
    const fill = h('span', { class: 'funnel-fill' });
    const count = h('span', { class: 'funnel-count' });
    const conversion = h('span', { class: 'funnel-conversion' });
    const button = h(
      'button',
      { type: 'button', class: 'funnel-bar', 'aria-expanded': 'false', 'aria-controls': 'funnel-units' },
      h(
        'span',
        { class: 'funnel-label' },
        h('span', { class: 'funnel-number' }, sr('Step '), String(step)),
        sr(': '),
        label,
        sr('. '),
      ),
      h('span', { class: 'funnel-track', 'aria-hidden': 'true' }, fill),
      h(
        'span',
        { class: 'funnel-numbers' },
        count,
        sr(', '),
        conversion,
        sr(step === 1 ? ' entered' : ' of step 1'),
      ),
    );
    button.addEventListener('click', () => this.onSelect(step));
    const meta =
      step === 1
        ? h('p', { class: 'funnel-meta muted' }, 'entered the funnel')
        : h(
            'p',
            { class: 'funnel-meta', title: `Time from step ${step - 1} to step ${step}` },
            h('span', { class: 'funnel-from-previous' }),
            h('span', { class: 'funnel-drop-off' }),
            h('span', { class: 'funnel-median' }),
            h('span', { class: 'funnel-p90' }),
          );
    const li = h('li', { class: 'funnel-row', 'data-step': String(step) }, button, meta);
    return { li, label, fill, count, conversion, meta };
  }
}
