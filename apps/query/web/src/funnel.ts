import { ApiError, type Facets, type Funnel, getJson, type SavedFunnels, sendJson } from './api.js';
import { byId, h } from './dom.js';
import { funnelBody, type View } from './filters.js';
import { formatDay } from './format.js';
import { FunnelBuilder } from './funnel-builder.js';
import { FunnelChart } from './funnel-chart.js';
import {
  definitionProblem,
  describeWindow,
  type FunnelDefinition,
  funnelKey,
  normalizeFunnel,
} from './funnel-def.js';
import { FunnelUnits } from './funnel-units.js';
import { showReportFailure, ThrottledReport } from './report-loader.js';

/** What PUT /api/funnels/saved/{name} takes as a name. */
const SAVED_NAME = /^[A-Za-z0-9 _.-]{1,100}$/;
const ORDER_TEXT: Record<FunnelDefinition['order'], string> = {
  sequential: 'each step after the previous one',
  strict: 'each step the very next event',
  any: 'the steps in any order',
};

export interface FunnelHost {
  view(): View;
  tz: string;
  /** At most one refresh from live data this often (the sessions and retention pace). */
  gapMs: number;
  /** Makes `definition` (null: none) the view's funnel: pushes the URL and shows it. */
  apply(definition: FunnelDefinition | null): void;
}

/** The API's field paths as the builder names them: body.steps.1.actions.0 → "step 2, action 1". */
function fieldName(path: string): string {
  const step = /^body\.steps\.(\d+)(?:\.(\w+)(?:\.(\d+))?)?$/.exec(path);
  if (!step) return path.replace(/^body\./, '').replace('windowSeconds', 'window');
  const name = `step ${Number(step[1]) + 1}`;
  if (step[2] === 'actions' && step[3] !== undefined) return `${name}, action ${Number(step[3]) + 1}`;
  return step[2] ? `${name}, ${step[2]}` : name;
}

function reason(path: string, message: string): string {
  if (!message.startsWith('must match pattern')) return message;
  if (/\.actions\.\d+$/.test(path))
    return 'is not an action name (letters, digits and _ . : - only, up to 64)';
  if (/\.role$/.test(path)) return 'must be ADMIN, USER or GUEST';
  return message;
}

/** A refused request, as one sentence naming the fields. */
function refusal(error: unknown, what: string): string {
  if (!(error instanceof ApiError)) return `${what}: ${String(error)}.`;
  const where = error.details.map((d) => `${fieldName(d.path)} ${reason(d.path, d.message)}`).join('; ');
  return `${what}: ${where || error.message}.`;
}

/**
 * The Funnel section: the builder, the result (bars, by role), the units of a step, the saved
 * funnels. The view's funnel (from the URL) is what is computed; the builder applies a complete
 * definition as soon as a change is committed, or on "Show funnel" (which also says what is missing).
 */
export class FunnelSection {
  private readonly builder: FunnelBuilder;
  private readonly chart: FunnelChart;
  private readonly units: FunnelUnits;
  private readonly loader: ThrottledReport;
  private readonly select = byId<HTMLSelectElement>('funnel-saved');
  private readonly name = byId<HTMLInputElement>('funnel-name');
  private readonly error = byId('funnel-error');
  private readonly status = byId('funnel-status');
  private saved: SavedFunnels['funnels'] = [];
  /** The answer on screen and the body it was computed from. */
  private last: { answer: Funnel; body: Record<string, unknown>; key: string } | null = null;

  constructor(private readonly host: FunnelHost) {
    this.builder = new FunnelBuilder({ edited: () => this.applyBuilder(false) });
    this.chart = new FunnelChart((step) => this.listUnits(step));
    this.units = new FunnelUnits(() => this.chart.select(null));
    this.loader = new ThrottledReport({
      gapMs: host.gapMs,
      key: () => this.key(),
      load: (s) => this.load(s),
    });

    byId('funnel-builder').addEventListener('submit', (event) => {
      event.preventDefault();
      this.applyBuilder(true);
    });
    byId('funnel-clear').addEventListener('click', () => {
      this.say('');
      this.builder.set(null);
      this.apply(null);
    });
    byId('funnel-suggest').addEventListener('click', () => void this.suggest());
    byId('funnel-save').addEventListener('click', () => void this.save());
    this.name.addEventListener('keydown', (event) => {
      // Enter in the name saves (it would otherwise submit the builder).
      if (event.key !== 'Enter') return;
      event.preventDefault();
      void this.save();
    });
    this.select.addEventListener('change', () => this.loadSaved());
    byId('funnel-delete').addEventListener('click', () => void this.remove());
  }

  /** After every stats update: throttled like the other reports. */
  refresh(): void {
    this.loader.refresh();
  }

  /** The view's funnel changed: load it at once. */
  reload(): void {
    void this.loader.now();
  }

  /** The view changed (first load, filters, back/forward): the builder, the notes, the result. */
  show(view: View): void {
    this.builder.set(view.funnel);
    byId('funnel-action-note').hidden = !view.action;
    const none = view.funnel === null;
    byId('funnel-hint').hidden = !none;
    if (none) {
      this.last = null;
      byId('funnel-result').hidden = true;
      byId('funnel-failed').hidden = true;
      this.chart.clear();
      this.units.close();
    }
    this.syncSaved();
  }

  /** GET /api/funnels/saved into the select (at start, after a save or a delete). */
  async listSaved(): Promise<void> {
    try {
      this.saved = (await getJson<SavedFunnels>('funnels/saved')).funnels;
    } catch {
      // The list is a convenience: the main load reports a key or a lost connection.
      return;
    }
    this.select.replaceChildren(
      h('option', { value: '' }, this.saved.length ? 'Choose a saved funnel…' : 'None saved yet'),
      ...this.saved.map((f) => h('option', { value: f.name }, f.name)),
    );
    this.syncSaved();
  }

  private key(): string | null {
    const body = funnelBody(this.host.view(), this.host.tz);
    return body && JSON.stringify(body);
  }

  private async load(signal: AbortSignal): Promise<void> {
    const body = funnelBody(this.host.view(), this.host.tz);
    if (!body) return;
    const key = JSON.stringify(body);
    try {
      const answer = await sendJson<Funnel>('POST', 'funnels', body, signal);
      if (signal.aborted) return;
      this.error.hidden = true;
      byId('funnel-failed').hidden = true;
      // The list belongs to another funnel or other filters: it would not match the bars.
      if (this.last?.key !== key) this.closeUnits();
      this.last = { answer, body, key };
      this.showResult(answer);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status === 400) {
        // A step (or a filter) the API refuses: say so by the builder; no bars for another funnel.
        this.error.textContent = refusal(error, 'The API refused this funnel');
        this.error.hidden = false;
        this.last = null;
        byId('funnel-result').hidden = true;
        this.chart.clear();
        this.units.close();
        return;
      }
      showReportFailure(byId('funnel-failed'), error);
    }
  }

  private showResult(answer: Funnel): void {
    const d = answer.definition;
    const view = this.host.view();
    const days = Math.round((Date.parse(answer.to) - Date.parse(answer.from)) / 86_400_000);
    // Without a date range the API takes the last 30 days (and 30 days up to `to`).
    const range =
      view.from && view.to
        ? `entries from ${formatDay(view.from)} to ${formatDay(view.to)}`
        : view.from
          ? `entries since ${formatDay(view.from)}`
          : view.to
            ? `entries in the ${days} days up to ${formatDay(view.to)}`
            : `entries in the last ${days} days (no date range chosen)`;
    const entry = d.entry === 'first' ? 'first attempt' : 'best attempt';
    byId('funnel-summary').textContent =
      `${d.unit === 'users' ? 'Users' : 'Sessions'}, ${range}; ${ORDER_TEXT[d.order]}, within ${describeWindow(d.windowSeconds)} of the entry; ${entry}.`;
    byId('funnel-empty').hidden = (answer.steps[0]?.count ?? 0) > 0;
    byId('funnel-result').hidden = false;
    this.chart.update(answer);
  }

  private listUnits(step: number): void {
    const last = this.last;
    if (!last) return;
    if (this.units.step === step) {
      // A second click on the listed step closes the list.
      this.closeUnits();
      return;
    }
    const s = last.answer.steps[step - 1]!;
    this.chart.select(step);
    this.units.open({
      body: last.body,
      step,
      label: s.label,
      unit: last.answer.definition.unit,
      steps: last.answer.steps.length,
      converted: s.count,
      dropped: s.dropOff,
    });
  }

  private closeUnits(): void {
    this.units.close();
    this.chart.select(null);
  }

  /** Applies what the builder shows when complete; `explicit` (Show funnel) says what is missing. */
  private applyBuilder(explicit: boolean): void {
    const definition = this.builder.read();
    const problem = definitionProblem(definition);
    if (problem) {
      if (explicit) this.say(problem, true);
      return;
    }
    if (explicit || !this.error.hidden) this.say('');
    this.apply(definition);
  }

  private apply(definition: FunnelDefinition | null): void {
    this.builder.applied(definition);
    this.host.apply(definition);
    this.syncSaved();
  }

  /** A message by the builder: an error (role=alert) or what was done (role=status); '' clears both. */
  private say(text: string, isError = false): void {
    this.error.textContent = isError ? text : '';
    this.error.hidden = !isError || !text;
    this.status.textContent = isError ? '' : text;
  }

  /** No funnel yet: the two most frequent actions as steps 1 and 2. */
  private async suggest(): Promise<void> {
    try {
      const facets = await getJson<Facets>('facets', new URLSearchParams({ facet: 'actions', limit: '2' }));
      const top = facets.actions.map((a) => a.value);
      if (top.length < 2) {
        this.say(
          'Fewer than two different actions have been tracked so far: a funnel needs two steps.',
          true,
        );
        return;
      }
      const definition = normalizeFunnel({ steps: top.map((a) => ({ actions: [a] })) });
      this.say(`Steps: the two most frequent actions, ${top.join(' then ')}.`);
      this.builder.set(definition);
      this.apply(definition);
    } catch (error) {
      this.say(refusal(error, 'Could not read the actions'), true);
    }
  }

  /** The select shows the saved funnel that is the view's funnel, if any; Delete acts on it. */
  private syncSaved(): void {
    const funnel = this.host.view().funnel;
    const key = funnel ? funnelKey(funnel) : null;
    const match = this.saved.find((f) => key !== null && funnelKey(normalizeFunnel(f.definition)) === key);
    this.select.value = match?.name ?? '';
    byId<HTMLButtonElement>('funnel-delete').disabled = !match;
  }

  private loadSaved(): void {
    const saved = this.saved.find((f) => f.name === this.select.value);
    byId<HTMLButtonElement>('funnel-delete').disabled = !saved;
    if (!saved) return;
    const definition = normalizeFunnel(saved.definition);
    this.name.value = saved.name;
    this.say(
      saved.definition.exclusion
        ? `Showing “${saved.name}”. Its exclusion step is not shown here and not applied.`
        : `Showing “${saved.name}”.`,
    );
    this.builder.set(definition);
    this.apply(definition);
  }

  private async save(): Promise<void> {
    const name = this.name.value.trim();
    if (!SAVED_NAME.test(name)) {
      this.say('A name is 1 to 100 letters, digits, spaces and _ . - characters.', true);
      this.name.focus();
      return;
    }
    const definition = this.builder.read();
    const problem = definitionProblem(definition);
    if (problem) {
      this.say(problem, true);
      return;
    }
    const replaced = this.saved.some((f) => f.name === name);
    try {
      await sendJson('PUT', `funnels/saved/${encodeURIComponent(name)}`, definition);
    } catch (error) {
      this.say(refusal(error, 'Not saved'), true);
      return;
    }
    this.say(`Saved as “${name}”${replaced ? ', replacing the funnel saved under that name' : ''}.`);
    this.apply(definition);
    await this.listSaved();
  }

  private async remove(): Promise<void> {
    const name = this.select.value;
    if (!name || !window.confirm(`Delete the saved funnel “${name}”? The funnel on screen stays.`)) return;
    try {
      await sendJson('DELETE', `funnels/saved/${encodeURIComponent(name)}`);
      this.say(`Deleted “${name}”.`);
    } catch (error) {
      // 404: someone else deleted it meanwhile; the list below is fresh either way.
      if (!(error instanceof ApiError && error.status === 404)) {
        this.say(refusal(error, 'Not deleted'), true);
        return;
      }
      this.say(`“${name}” was already deleted.`);
    }
    await this.listSaved();
  }
}
