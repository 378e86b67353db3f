// A funnel's definition as the dashboard holds it (what POST /api/funnels and the saved funnels take,
// every option filled in), and its place in the page URL:
//   ?step=page_view@/pricing&step=click~ADMIN&step=signup,login&order=strict&window=2h&unit=sessions&entry=best
// One `step` per step, in order: its actions (comma-separated: any of them), `~ROLE`, then `@page`
// (everything after the first @, so a page may hold any character; actions and roles cannot hold @).
// Options at their defaults (sequential, 14d, users, first) are left out. A link that does not read
// (a bad step, fewer than two steps, an unknown option) loses that part, never the page.

export const FUNNEL_OPTIONS = {
  order: ['sequential', 'strict', 'any'],
  unit: ['users', 'sessions'],
  entry: ['first', 'best'],
} as const;
type Options = { [K in keyof typeof FUNNEL_OPTIONS]: (typeof FUNNEL_OPTIONS)[K][number] };
export type FunnelOrder = Options['order'];
export type FunnelUnit = Options['unit'];
export type FunnelEntry = Options['entry'];

export const MIN_STEPS = 2;
export const MAX_STEPS = 10;
const MAX_ACTIONS = 10;
/** A stored page's longest (LIMITS.page), plus the `*` of a prefix. */
export const MAX_PAGE_LENGTH = 2049;
export const ROLES = ['ADMIN', 'USER', 'GUEST'] as const;
/** What the API takes as an action name (and so the URL reader too). */
const ACTION = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The window's units, largest first: seconds per unit, the URL letter and the name. */
export const WINDOW_UNITS = [
  { unit: 'days', letter: 'd', seconds: 86_400 },
  { unit: 'hours', letter: 'h', seconds: 3_600 },
  { unit: 'minutes', letter: 'm', seconds: 60 },
  { unit: 'seconds', letter: 's', seconds: 1 },
] as const;
export type WindowUnit = (typeof WINDOW_UNITS)[number]['unit'];
export const DEFAULT_WINDOW_SECONDS = 14 * 86_400;
export const MAX_WINDOW_SECONDS = 90 * 86_400;

export interface FunnelStep {
  /** Any of these actions (1–10). */
  actions: string[];
  /** Exact page, or a prefix ending in `*`. */
  page?: string;
  role?: string;
}

export interface FunnelDefinition {
  steps: FunnelStep[];
  order: FunnelOrder;
  windowSeconds: number;
  unit: FunnelUnit;
  entry: FunnelEntry;
}

function option<K extends keyof Options>(key: K, value: string | null | undefined): Options[K] {
  const allowed: readonly string[] = FUNNEL_OPTIONS[key];
  return (allowed.includes(value ?? '') ? value : allowed[0]) as Options[K];
}

/** The step as the API compares it: actions lower-cased, the role upper-cased, no empty page. */
function normalStep(step: FunnelStep): FunnelStep {
  return {
    actions: step.actions.map((a) => a.toLowerCase()),
    ...(step.page ? { page: step.page } : {}),
    ...(step.role ? { role: step.role.toUpperCase() } : {}),
  };
}

/**
 * A definition with every option filled in and its steps as the API stores them (from the builder,
 * the URL, or a saved funnel's answer, whose `exclusion` the dashboard does not edit and drops).
 */
export function normalizeFunnel(
  d: { steps: FunnelStep[] } & Partial<Record<keyof Options, string>> & { windowSeconds?: number },
): FunnelDefinition {
  return {
    steps: d.steps.map(normalStep),
    order: option('order', d.order),
    windowSeconds: d.windowSeconds ?? DEFAULT_WINDOW_SECONDS,
    unit: option('unit', d.unit),
    entry: option('entry', d.entry),
  };
}

/** One string per definition, the same for the same funnel (to compare a saved one with the view). */
export function funnelKey(d: FunnelDefinition): string {
  const n = normalizeFunnel(d);
  return JSON.stringify([
    n.steps.map((s) => [s.actions, s.page ?? null, s.role ?? null]),
    n.order,
    n.windowSeconds,
    n.unit,
    n.entry,
  ]);
}

/** A step's actions as typed: names separated by commas (any of them); empty entries dropped. */
export function splitActions(text: string): string[] {
  return text
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
}

// ---------------------------------------------------------------- the window

/** windowSeconds as the largest unit that holds it whole: 7200 → 2 hours. */
export function splitWindow(seconds: number): { amount: number; unit: WindowUnit } {
  const fit = WINDOW_UNITS.find((u) => seconds % u.seconds === 0) ?? WINDOW_UNITS[3];
  return { amount: seconds / fit.seconds, unit: fit.unit };
}

export function windowSeconds(amount: number, unit: WindowUnit): number {
  return amount * (WINDOW_UNITS.find((u) => u.unit === unit)?.seconds ?? 1);
}

/** `2 hours`, `1 day`, `90 seconds`. */
export function describeWindow(seconds: number): string {
  const { amount, unit } = splitWindow(seconds);
  return `${amount} ${amount === 1 ? unit.slice(0, -1) : unit}`;
}

function parseWindow(text: string | null): number | null {
  const match = /^(\d{1,8})([dhms])$/.exec(text ?? '');
  if (!match) return null;
  const unit = WINDOW_UNITS.find((u) => u.letter === match[2])!;
  const seconds = Number(match[1]) * unit.seconds;
  return seconds >= 1 && seconds <= MAX_WINDOW_SECONDS ? seconds : null;
}

function windowText(seconds: number): string {
  const { amount, unit } = splitWindow(seconds);
  return `${amount}${WINDOW_UNITS.find((u) => u.unit === unit)!.letter}`;
}

// ---------------------------------------------------------------- checks

/**
 * What is wrong with a definition before it is sent, as a sentence naming the step (null: nothing).
 * Only what the form can get wrong is checked here; the API's 400 says the rest (e.g. an action
 * name with a space), and the dashboard shows it.
 */
export function definitionProblem(d: FunnelDefinition): string | null {
  if (d.steps.length < MIN_STEPS) return `A funnel needs at least ${MIN_STEPS} steps.`;
  if (d.steps.length > MAX_STEPS) return `A funnel has at most ${MAX_STEPS} steps.`;
  for (const [i, step] of d.steps.entries()) {
    if (step.actions.length === 0) return `Step ${i + 1} needs an action.`;
    if (step.actions.length > MAX_ACTIONS) return `Step ${i + 1}: at most ${MAX_ACTIONS} actions.`;
  }
  if (!Number.isInteger(d.windowSeconds) || d.windowSeconds < 1 || d.windowSeconds > MAX_WINDOW_SECONDS)
    return 'The window must be a whole number from 1 second to 90 days.';
  return null;
}

// ---------------------------------------------------------------- the URL

function parseStep(text: string): FunnelStep | null {
  const at = text.indexOf('@');
  const head = at === -1 ? text : text.slice(0, at);
  const page = at === -1 ? undefined : text.slice(at + 1);
  const [names = '', role, ...rest] = head.split('~');
  const actions = splitActions(names);
  if (rest.length > 0 || actions.length === 0 || actions.length > MAX_ACTIONS) return null;
  if (!actions.every((a) => ACTION.test(a))) return null;
  if (role !== undefined && !(ROLES as readonly string[]).includes(role.toUpperCase())) return null;
  if (page !== undefined && (page === '' || page.length > MAX_PAGE_LENGTH)) return null;
  return normalStep({ actions, ...(page !== undefined ? { page } : {}), ...(role ? { role } : {}) });
}

/** The funnel in a page URL's parameters; null when it has fewer than two steps that read. */
export function funnelFromParams(params: URLSearchParams): FunnelDefinition | null {
  const steps = params
    .getAll('step')
    .map(parseStep)
    .filter((s) => s !== null)
    .slice(0, MAX_STEPS);
  if (steps.length < MIN_STEPS) return null;
  return normalizeFunnel({
    steps,
    order: params.get('order') ?? '',
    unit: params.get('unit') ?? '',
    entry: params.get('entry') ?? '',
    windowSeconds: parseWindow(params.get('window')) ?? DEFAULT_WINDOW_SECONDS,
  });
}

/** Adds the funnel to a page URL's parameters (the options only where they differ from the default). */
export function funnelToParams(d: FunnelDefinition, params: URLSearchParams): void {
  for (const step of d.steps) {
    const role = step.role ? `~${step.role}` : '';
    const page = step.page ? `@${step.page}` : '';
    params.append('step', `${step.actions.join(',')}${role}${page}`);
  }
  for (const key of ['order', 'unit', 'entry'] as const)
    if (d[key] !== FUNNEL_OPTIONS[key][0]) params.set(key, d[key]);
  if (d.windowSeconds !== DEFAULT_WINDOW_SECONDS) params.set('window', windowText(d.windowSeconds));
}
