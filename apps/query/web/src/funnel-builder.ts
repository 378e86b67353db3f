import { byId, h } from './dom.js';
import {
  type FunnelDefinition,
  type FunnelStep,
  funnelKey,
  MAX_PAGE_LENGTH,
  MAX_STEPS,
  MIN_STEPS,
  normalizeFunnel,
  ROLES,
  splitActions,
  splitWindow,
  type WindowUnit,
  windowSeconds,
} from './funnel-def.js';

interface StepRow {
  li: HTMLLIElement;
  number: HTMLElement;
  /** "Step N " in front of each label, for screen readers. */
  spoken: HTMLElement[];
  action: HTMLInputElement;
  page: HTMLInputElement;
  role: HTMLSelectElement;
  up: HTMLButtonElement;
  down: HTMLButtonElement;
  remove: HTMLButtonElement;
}

export interface BuilderEvents {
  /** A step or an option was committed (change, a suggestion picked, a step moved or removed). */
  edited(): void;
}

/**
 * The funnel form: 2–10 step rows (action with suggestions, optional page, optional role; move up,
 * move down, remove) and the options. It shows a definition (`set`) and reads what is on screen
 * (`read`); a definition set again while the reader edits (a filter changed) leaves the edits alone.
 */
export class FunnelBuilder {
  private rows: StepRow[] = [];
  private readonly list = byId<HTMLOListElement>('funnel-steps');
  private readonly add = byId<HTMLButtonElement>('funnel-add');
  private readonly order = byId<HTMLSelectElement>('fo-order');
  private readonly amount = byId<HTMLInputElement>('fo-window');
  private readonly windowUnit = byId<HTMLSelectElement>('fo-window-unit');
  private readonly unit = byId<HTMLSelectElement>('fo-unit');
  private readonly entry = byId<HTMLSelectElement>('fo-entry');
  /** funnelKey of the definition on screen when it was set or applied ('' for none); null at first. */
  private shown: string | null = null;
  private ids = 0;

  constructor(private readonly on: BuilderEvents) {
    this.add.addEventListener('click', () => {
      const row = this.row();
      this.rows.push(row);
      this.list.append(row.li);
      this.renumber();
      row.action.focus();
    });
    const form = byId<HTMLFormElement>('funnel-builder');
    form.addEventListener('change', (event) => {
      // The window's number commits on change like the rest; a name being typed to save is no edit.
      if ((event.target as HTMLElement).id !== 'funnel-name') this.on.edited();
    });
    form.addEventListener('input', (event) => {
      // Picking a suggestion from a datalist commits the value at once (no blur needed).
      if ((event as InputEvent).inputType === 'insertReplacementText') this.on.edited();
    });
  }

  /** Shows `definition` (none: two empty steps), unless it is the one already shown. */
  set(definition: FunnelDefinition | null): void {
    const key = definition ? funnelKey(definition) : '';
    if (key === this.shown) return;
    this.shown = key;
    const d = definition ?? normalizeFunnel({ steps: [{ actions: [] }, { actions: [] }] });
    for (const row of this.rows) row.li.remove();
    this.rows = d.steps.map((step) => this.row(step));
    this.list.append(...this.rows.map((r) => r.li));
    this.renumber();
    this.order.value = d.order;
    this.unit.value = d.unit;
    this.entry.value = d.entry;
    const span = splitWindow(d.windowSeconds);
    this.amount.value = String(span.amount);
    this.windowUnit.value = span.unit;
  }

  /** The definition on screen became the view's: setting it again changes nothing. */
  applied(definition: FunnelDefinition | null): void {
    this.shown = definition ? funnelKey(definition) : '';
  }

  /** What is on screen (it may be incomplete: see definitionProblem). */
  read(): FunnelDefinition {
    const amount = Number(this.amount.value);
    return normalizeFunnel({
      steps: this.rows.map((row) => ({
        actions: splitActions(row.action.value),
        ...(row.page.value.trim() ? { page: row.page.value.trim() } : {}),
        ...(row.role.value ? { role: row.role.value } : {}),
      })),
      order: this.order.value,
      unit: this.unit.value,
      entry: this.entry.value,
      windowSeconds:
        this.amount.value.trim() === ''
          ? Number.NaN
          : windowSeconds(amount, this.windowUnit.value as WindowUnit),
    });
  }

  private row(step?: FunnelStep): StepRow {
    const id = `fs-${++this.ids}`;
    const spoken = [0, 1, 2].map(() => h('span', { class: 'sr-only' }));
    const label = (field: string, text: string, i: number, note?: string) =>
      h(
        'label',
        { for: `${id}-${field}` },
        spoken[i],
        text,
        note && h('span', { class: 'field-note' }, ` ${note}`),
      );
    // Both suggest known values as you type (main.ts: data-suggest), from the filter bar's lists.
    const suggesting = (
      field: 'action' | 'page',
      facet: 'actions' | 'pages',
      value: string,
      attrs: Record<string, string>,
    ) => {
      const input = h('input', {
        id: `${id}-${field}`,
        type: 'search',
        list: `dl-${facet}`,
        'data-suggest': facet,
        spellcheck: 'false',
        ...attrs,
      });
      input.value = value;
      return input;
    };
    const action = suggesting('action', 'actions', step?.actions.join(', ') ?? '', {
      placeholder: 'page_view',
      maxlength: '700',
      'aria-describedby': 'funnel-action-hint',
    });
    const page = suggesting('page', 'pages', step?.page ?? '', {
      placeholder: 'any page',
      maxlength: String(MAX_PAGE_LENGTH),
      'aria-describedby': 'f-page-hint',
    });
    const role = h(
      'select',
      { id: `${id}-role` },
      h('option', { value: '' }, 'Any role'),
      ...ROLES.map((r) => h('option', { value: r }, r)),
    );
    role.value = step?.role ?? '';
    const button = (text: string, cls: string) =>
      h('button', { type: 'button', class: `btn btn-icon funnel-step-button ${cls}` }, text);
    const row: StepRow = {
      li: h('li', { class: 'funnel-step' }),
      number: h('span', { class: 'funnel-step-number', 'aria-hidden': 'true' }),
      spoken,
      action,
      page,
      role,
      up: button('↑', 'step-up'),
      down: button('↓', 'step-down'),
      remove: button('×', 'step-remove'),
    };
    row.li.append(
      row.number,
      h('div', { class: 'field funnel-field-action' }, label('action', 'Action', 0), action),
      h('div', { class: 'field funnel-field-page' }, label('page', 'Page', 1, '(optional)'), page),
      h('div', { class: 'field funnel-field-role' }, label('role', 'Role', 2), role),
      h('div', { class: 'funnel-step-buttons' }, row.up, row.down, row.remove),
    );
    row.up.addEventListener('click', () => this.move(row, -1));
    row.down.addEventListener('click', () => this.move(row, 1));
    row.remove.addEventListener('click', () => this.drop(row));
    return row;
  }

  private move(row: StepRow, by: -1 | 1): void {
    const from = this.rows.indexOf(row);
    const to = from + by;
    if (to < 0 || to >= this.rows.length) return;
    this.rows.splice(from, 1);
    this.rows.splice(to, 0, row);
    if (by < 0) this.rows[to + 1]!.li.before(row.li);
    else this.rows[to - 1]!.li.after(row.li);
    this.renumber();
    // Moving the row took the focus from its button: give it back (or to the other arrow at an end).
    const again = by < 0 ? row.up : row.down;
    (again.disabled ? (by < 0 ? row.down : row.up) : again).focus();
    this.on.edited();
  }

  private drop(row: StepRow): void {
    if (this.rows.length <= MIN_STEPS) return;
    const at = this.rows.indexOf(row);
    this.rows.splice(at, 1);
    row.li.remove();
    this.renumber();
    this.rows[Math.min(at, this.rows.length - 1)]!.action.focus();
    this.on.edited();
  }

  /** Numbers, spoken labels and which buttons apply, after any change of the rows. */
  private renumber(): void {
    const last = this.rows.length - 1;
    this.rows.forEach((row, i) => {
      const n = i + 1;
      row.li.dataset.step = String(n);
      row.number.textContent = String(n);
      for (const s of row.spoken) s.textContent = `Step ${n} `;
      for (const [button, text] of [
        [row.up, `Move step ${n} up`],
        [row.down, `Move step ${n} down`],
        [row.remove, `Remove step ${n}`],
      ] as const) {
        button.setAttribute('aria-label', text);
        button.title = text;
      }
      row.up.disabled = i === 0;
      row.down.disabled = i === last;
      row.remove.disabled = this.rows.length <= MIN_STEPS;
    });
    this.add.disabled = this.rows.length >= MAX_STEPS;
  }
}
