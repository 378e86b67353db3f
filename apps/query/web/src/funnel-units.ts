import { type FunnelUnitsPage, postForFile, sendJson } from './api.js';
import { byId, h } from './dom.js';
import { formatFullTime, formatNumber, formatTime, truncate } from './format.js';
import { countOf } from './funnel-chart.js';
import type { FunnelUnit } from './funnel-def.js';

/** Units listed per page ("More" adds the next). */
export const UNITS_PAGE = 25;

type Status = 'converted' | 'dropped';

/** The step whose units are listed, and the funnel request they belong to. */
export interface UnitsQuery {
  /** POST /api/funnels' body the funnel on screen was computed from. */
  body: Record<string, unknown>;
  step: number;
  label: string;
  unit: FunnelUnit;
  steps: number;
  /** The step's counts from that answer: reached it, and reached the previous step only. */
  converted: number;
  dropped: number;
}

const time = (iso: string) => h('time', { datetime: iso, title: formatFullTime(iso) }, formatTime(iso));

/**
 * The units of one step: those that reached it (converted) or reached the previous step and not it
 * (dropped), a page at a time from POST /api/funnels/units with "More" following `nextCursor`, and
 * all of them as a CSV file (a POST, so fetched and saved through a blob link).
 */
export class FunnelUnits {
  private readonly root = byId('funnel-units');
  private readonly rows = byId<HTMLTableSectionElement>('funnel-units-rows');
  private readonly more = byId<HTMLButtonElement>('funnel-more');
  private readonly error = byId('funnel-units-error');
  private query: UnitsQuery | null = null;
  private status: Status = 'converted';
  private cursor: string | null = null;
  private listed = 0;
  /** Bumped by every new list: an answer for an older one is dropped. */
  private generation = 0;

  constructor(private readonly onClose: () => void) {
    for (const chip of this.root.querySelectorAll<HTMLButtonElement>('[data-status]')) {
      chip.addEventListener('click', () => {
        const status = chip.dataset.status as Status;
        if (this.query && status !== this.status) this.list(status);
      });
    }
    this.more.addEventListener('click', () => void this.load());
    byId('funnel-csv').addEventListener('click', () => void this.download());
    byId('funnel-units-close').addEventListener('click', () => {
      this.close();
      this.onClose();
    });
  }

  /** The step listed, or null. */
  get step(): number | null {
    return this.query?.step ?? null;
  }

  open(query: UnitsQuery): void {
    this.query = query;
    this.root.hidden = false;
    byId('funnel-units-title').textContent = `Step ${query.step}: ${query.label}`;
    const [converted, dropped] = this.root.querySelectorAll<HTMLButtonElement>('[data-status]');
    converted!.textContent = `${query.step === 1 ? 'Entered' : 'Converted'} · ${formatNumber(query.converted, 'integer')}`;
    dropped!.textContent = `Dropped off · ${formatNumber(query.dropped, 'integer')}`;
    // Nobody drops off before step 1.
    dropped!.hidden = query.step === 1;
    byId('funnel-units-session-col').hidden = query.unit !== 'sessions';
    this.list('converted');
  }

  close(): void {
    this.generation += 1;
    this.query = null;
    this.root.hidden = true;
    this.rows.replaceChildren();
  }

  private list(status: Status): void {
    const q = this.query!;
    this.status = status;
    this.cursor = null;
    this.listed = 0;
    this.generation += 1;
    for (const chip of this.root.querySelectorAll<HTMLButtonElement>('[data-status]'))
      chip.setAttribute('aria-pressed', String(chip.dataset.status === status));
    const who = q.unit === 'users' ? 'Users' : 'Sessions';
    byId('funnel-units-note').textContent =
      status === 'converted'
        ? `${who} that reached step ${q.step}${q.step > 1 ? ' (and every step before it)' : ''}.`
        : `${who} that reached step ${q.step - 1} but not step ${q.step}.`;
    this.rows.replaceChildren();
    void this.load();
  }

  private async load(): Promise<void> {
    const q = this.query;
    if (!q) return;
    const mine = this.generation;
    this.more.disabled = true;
    const body = { ...q.body, step: q.step, status: this.status, limit: UNITS_PAGE };
    try {
      const page = await sendJson<FunnelUnitsPage>(
        'POST',
        'funnels/units',
        this.cursor ? { ...body, cursor: this.cursor } : body,
      );
      if (mine !== this.generation) return;
      this.error.hidden = true;
      this.append(page, q);
    } catch (error) {
      if (mine !== this.generation) return;
      this.error.textContent = `Could not list them: ${(error as Error).message}.`;
      this.error.hidden = false;
      this.more.disabled = false;
    }
  }

  private append(page: FunnelUnitsPage, q: UnitsQuery): void {
    const sessions = q.unit === 'sessions';
    this.rows.append(
      ...page.units.map((u) =>
        h(
          'tr',
          { 'data-unit': u.unit },
          h(
            'th',
            { scope: 'row', class: 'mono' },
            h('span', { class: 'clip', title: u.userId }, truncate(u.userId, 120)),
          ),
          sessions && h('td', { class: 'mono' }, u.unit.slice(u.userId.length + 1)),
          h('td', {}, time(u.entryAt)),
          h('td', {}, time(u.lastStepAt)),
          h('td', { class: 'num' }, `${u.stepsReached} of ${q.steps}`),
        ),
      ),
    );
    this.listed += page.units.length;
    this.cursor = page.nextCursor;
    this.more.hidden = page.nextCursor === null;
    this.more.disabled = false;
    const total = this.status === 'converted' ? q.converted : q.dropped;
    byId('funnel-units-info').textContent =
      this.listed === 0
        ? `No ${q.unit} here.`
        : `${formatNumber(this.listed, 'integer')} of ${countOf(Math.max(total, this.listed), q.unit)} listed`;
  }

  private async download(): Promise<void> {
    const q = this.query;
    if (!q) return;
    try {
      const file = await postForFile('funnels/units', {
        ...q.body,
        step: q.step,
        status: this.status,
        format: 'csv',
      });
      const link = document.createElement('a');
      link.href = URL.createObjectURL(file.blob);
      link.download = file.filename;
      link.click();
      // The download has its own copy once started.
      window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      this.error.hidden = true;
    } catch (error) {
      this.error.textContent = `Could not download the CSV: ${(error as Error).message}.`;
      this.error.hidden = false;
    }
  }
}
