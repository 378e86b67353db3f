import {
  ApiError,
  apiUrl,
  type DlqSummary,
  type ExportLink,
  type Facets,
  type FacetValue,
  getJson,
  type InteractionPage,
  postJson,
  type Retention,
  type SessionStats,
  type Stats,
  storedKey,
  storeKey,
} from './api.js';
import { Cards, decorateStatCards, STAT_CARDS } from './cards.js';
import { Charts } from './charts.js';
import { byId, h } from './dom.js';
import {
  clearFilters,
  describeView,
  FILTER_KEYS,
  filterParams,
  hasFilters,
  localDay,
  RETENTION_KEYS,
  type RetentionOptions,
  reportParams,
  retentionOption,
  retentionParams,
  type View,
  viewerTimeZone,
  viewFromUrl,
  viewToSearch,
} from './filters.js';
import { formatAge, formatNumber } from './format.js';
import { FunnelSection } from './funnel.js';
import type { FunnelDefinition } from './funnel-def.js';
import { LAG_REPLICA_MS, parseLag } from './lag.js';
import { Live, type LiveMode, POLL_MS } from './live.js';
import { showReportFailure, ThrottledReport } from './report-loader.js';
import { RetentionTable } from './retention.js';
import { SessionsRow, TOP_SESSION_PAGES } from './sessions.js';
import { InteractionsTable } from './table.js';
import { setupThemeToggle } from './theme.js';

const PAGE_SIZE = 25;
const LIVE_THROTTLE_MS = 750;
const ERROR_RETRY_MS = 5000;
/**
 * At most one sessions + retention refresh this often from live data (stats events arrive every ~2 s
 * on a busy stream; the retention table is read from raw rows). A new view loads them at once.
 */
const REPORTS_THROTTLE_MS = POLL_MS;
const DEFAULT_ROLES = ['ADMIN', 'USER', 'GUEST'];
/** Position in `order`, anything unknown after it. */
const rank = (order: readonly string[], value: string) => {
  const i = order.indexOf(value);
  return i === -1 ? order.length : i;
};

type UiState = 'loading' | 'ready' | 'empty' | 'error' | 'locked';
type LoadReason = 'initial' | 'filters' | 'page' | 'live' | 'retry';

const main = byId('main');
const form = byId<HTMLFormElement>('filters');
const tz = viewerTimeZone();

let view: View = viewFromUrl(location.search);
let state: UiState = 'loading';
let lastStats: Stats | null = null;
let lastPage: InteractionPage | null = null;
/** 0-based page number of the table when known (unknown after reloading a deep link). */
let pageIndex: number | null = view.cursor ? null : 0;
/** totalActions when the current (older) table page was loaded, to count what arrived since. */
let totalAtPageLoad = 0;
let generation = 0;
let inFlight: AbortController | null = null;
let liveTimer = 0;
/** What the next throttled live refresh must fetch. */
const pending = { stats: false, table: false };
/** The view (URL search) the table rows belong to. */
let tableFor: string | null = null;
let errorTimer = 0;
/** The stream URL the live connection was opened with (paging does not change it). */
let liveUrl = '';
/** The last load failed for want of an answer (network, 5xx): the status pill says offline. */
let apiDown = false;

const cards = new Cards(byId('cards'), byId('cards-live'), STAT_CARDS, decorateStatCards);
const sessions = new SessionsRow(byId('sessions-section'), byId('sessions-live'));
const retention = new RetentionTable(byId<HTMLTableElement>('retention-table'), byId('retention-summary'));
const charts = new Charts(byId('dashboard'), (kind, value) => {
  if (kind === 'action') setView({ ...view, action: value });
  else if (kind === 'page') setView({ ...view, page: value });
  else setView({ ...view, role: value });
});
const table = new InteractionsTable(byId<HTMLTableSectionElement>('rows'), 6);
const funnel = new FunnelSection({ view: () => view, tz, gapMs: REPORTS_THROTTLE_MS, apply: setFunnel });

const live = new Live({
  refresh: () => scheduleLive(0, { stats: true, table: true }),
  event: (type, data) => {
    if (type === 'lag') showLag(data);
    else if (type === 'stats' && isStats(data)) applyStats(data);
    // New rows only change the newest page; an older page learns about them from the stats.
    else if (type === 'interaction' && !view.cursor)
      scheduleLive(LIVE_THROTTLE_MS, { stats: false, table: true });
  },
  mode: showMode,
});

// ---------------------------------------------------------------- state and loading

interface Parts {
  stats: boolean;
  table: boolean;
}

function isStats(data: unknown): data is Stats {
  const d = data as Partial<Stats> | null;
  return typeof d?.totalActions === 'number' && Array.isArray(d.daily) && Array.isArray(d.byAction);
}

function setState(next: UiState): void {
  state = next;
  main.dataset.state = next;
  main.setAttribute('aria-busy', String(next === 'loading'));
  byId('dashboard').hidden = next === 'error' || next === 'empty' || next === 'locked';
  byId('state-error').hidden = next !== 'error' && next !== 'locked';
  byId('state-empty').hidden = next !== 'empty';
  cards.loading(next === 'loading');
}

async function load(reason: LoadReason, parts: Parts = { stats: true, table: true }): Promise<void> {
  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  const mine = ++generation;
  // Only the first load shows placeholders; later ones animate from the numbers on screen.
  if (reason === 'initial') cards.loading(true);
  main.setAttribute('aria-busy', 'true');

  const filters = filterParams(view);
  const statsParams = new URLSearchParams(filters);
  statsParams.set('tz', tz);
  // On an older page new events do not belong in the table: only the newest page follows live data.
  const wantTable = parts.table && (reason !== 'live' || !view.cursor || tableFor !== viewToSearch(view));
  const pageParams = new URLSearchParams(filters);
  pageParams.set('limit', String(PAGE_SIZE));
  if (view.cursor) pageParams.set('cursor', view.cursor);
  const search = viewToSearch(view);

  try {
    const [stats, page] = await Promise.all([
      parts.stats ? getJson<Stats>('stats', statsParams, controller.signal) : Promise.resolve(null),
      wantTable
        ? getJson<InteractionPage>('interactions', pageParams, controller.signal)
        : Promise.resolve(null),
    ]);
    if (mine !== generation) return;
    window.clearTimeout(errorTimer);
    byId('filter-error').hidden = true;
    if (stats) applyStats(stats);
    if (page) applyPage(page, reason, search);
  } catch (error) {
    if (mine !== generation || controller.signal.aborted) return;
    failed(error, reason);
  } finally {
    if (mine === generation) {
      inFlight = null;
      main.setAttribute('aria-busy', 'false');
      cards.loading(false);
    }
  }
}

function applyStats(stats: Stats): void {
  lastStats = stats;
  apiDown = false;
  byId('connection-notice').hidden = true;
  const nothingYet = stats.totalActions === 0 && !hasFilters(view);
  setState(nothingYet ? 'empty' : 'ready');
  byId('updated-at').textContent = `Updated ${new Date().toLocaleTimeString()}`;
  showMode(live.mode);
  if (nothingYet) return;
  cards.update(stats);
  charts.update(stats);
  reports.refresh();
  funnel.refresh();
  if (tableFor !== viewToSearch(view) && !inFlight) {
    // First data after the empty state (from the stream): the table has not been loaded yet.
    scheduleLive(0, { stats: false, table: true });
  } else if (view.cursor) {
    const fresh = stats.totalActions - totalAtPageLoad;
    const chip = byId<HTMLButtonElement>('new-rows');
    chip.hidden = fresh <= 0;
    chip.textContent = `${formatNumber(fresh, 'integer')} new · show newest`;
  }
}

function applyPage(page: InteractionPage, reason: LoadReason, loadedFor: string): void {
  let search = loadedFor;
  if (page.items.length === 0 && view.cursor && reason === 'page') {
    // Paging back past the newest row (the cursor was a deep link): show the newest page.
    setView({ ...view, cursor: '' }, { reason: 'page' });
    return;
  }
  if (view.cursor && !page.prevCursor) {
    // Nothing newer than this page: it is the newest page, whatever cursor led here (a deep link
    // paged back): drop the cursor so the pager counts from 1 and live rows are added again.
    view = { ...view, cursor: '' };
    pageIndex = 0;
    history.replaceState(null, '', `${location.pathname}${viewToSearch(view)}`);
    search = viewToSearch(view);
    restartLive();
  }
  lastPage = page;
  tableFor = search;
  totalAtPageLoad = lastStats?.totalActions ?? 0;
  const added = table.render(page, {
    highlightNew: reason === 'live',
    emptyText: hasFilters(view) ? 'No interactions match these filters.' : 'No interactions yet.',
  });
  if (reason === 'live' && added > 0) byId('rows').dataset.lastAdded = String(added);
  byId('new-rows').hidden = true;
  updatePager(page);
}

function failed(error: unknown, reason: LoadReason): void {
  const apiError = error instanceof ApiError ? error : new ApiError(0, 'UNKNOWN', String(error));
  if (apiError.status === 401) {
    askForKey(storedKey() !== null);
    return;
  }
  if (apiError.code === 'INVALID_CURSOR' && view.cursor) {
    // A cursor from another time zone or an older link: start from the newest page.
    setView({ ...view, cursor: '' }, { push: false, reason: 'page' });
    return;
  }
  if (apiError.status >= 400 && apiError.status < 500 && apiError.status !== 429) {
    // The API refused the filters (400 with the field): say which, keep the last good numbers.
    const where = apiError.details
      .map((d) => `${d.path.replace(/^querystring\./, '')} ${d.message}`)
      .join('; ');
    const note = byId('filter-error');
    note.textContent = `The API refused these filters: ${where || apiError.message}.`;
    note.hidden = false;
    if (state === 'loading') setState('ready');
    // No live updates for filters the API refuses (the stream was refused too and polling repeated
    // the 400 every 5 s under "Updating every 5 s"); the next change of filters starts them again.
    live.pause();
    liveUrl = '';
    return;
  }
  const shown = state === 'ready' || state === 'empty';
  if (shown && reason !== 'retry' && reason !== 'initial') {
    // Keep what is on screen and say it is stale; the live loop keeps trying.
    const since = byId('updated-at').textContent?.replace('Updated ', '') || 'earlier';
    byId('connection-text').textContent =
      `Lost contact with the query API (${apiError.message}). Showing the numbers from ${since}; retrying every 5 s.`;
    byId('connection-notice').hidden = false;
    apiDown = true;
    showMode(live.mode);
    return;
  }
  byId('error-title').textContent = 'Can’t reach the query API';
  byId('error-text').textContent =
    apiError.status === 0
      ? 'The query service does not answer. Check that it is running (./tracker status) and try again.'
      : `The query API answered ${apiError.status}: ${apiError.message}`;
  byId('retry').textContent = 'Retry';
  byId('retry').dataset.action = 'retry';
  setState('error');
  apiDown = true;
  showMode(live.mode);
  window.clearTimeout(errorTimer);
  errorTimer = window.setTimeout(() => void load('retry'), ERROR_RETRY_MS);
}

function scheduleLive(delay: number, parts: Parts): void {
  if (state === 'locked') return;
  pending.stats ||= parts.stats;
  pending.table ||= parts.table;
  if (liveTimer) return;
  liveTimer = window.setTimeout(async () => {
    if (inFlight) {
      // A user-driven load is running and brings fresh data; try again after it.
      liveTimer = 0;
      scheduleLive(LIVE_THROTTLE_MS, { stats: false, table: false });
      return;
    }
    const run = { ...pending };
    pending.stats = false;
    pending.table = false;
    if (run.stats || run.table) await load('live', run);
    liveTimer = 0;
    if (pending.stats || pending.table) scheduleLive(LIVE_THROTTLE_MS, { stats: false, table: false });
  }, delay);
}

// ---------------------------------------------------------------- sessions and retention

const reports = new ThrottledReport({
  gapMs: REPORTS_THROTTLE_MS,
  key: () => retentionParams(view, tz).toString(),
  load: loadReports,
});

/** Both requests side by side; each part shows its answer, or keeps its numbers and says why. */
async function loadReports(signal: AbortSignal): Promise<void> {
  const options: RetentionOptions = { period: view.period, cohort: view.cohort, mode: view.mode };
  const sessionParams = reportParams(view);
  sessionParams.set('top', String(TOP_SESSION_PAGES));
  const [sessionAnswer, retentionAnswer] = await Promise.allSettled([
    getJson<SessionStats>('sessions/stats', sessionParams, signal),
    getJson<Retention>('retention', retentionParams(view, tz), signal),
  ]);
  // A newer view's load replaced this one.
  if (signal.aborted) return;
  sessions.loading(false);
  if (sessionAnswer.status === 'fulfilled') sessions.update(sessionAnswer.value);
  reportFailed('sessions-error', sessionAnswer);
  if (retentionAnswer.status === 'fulfilled') retention.update(retentionAnswer.value, options);
  reportFailed('retention-error', retentionAnswer);
}

function reportFailed(id: string, answer: PromiseSettledResult<unknown>): void {
  showReportFailure(byId(id), answer.status === 'rejected' ? answer.reason : null);
}

/** The retention selects (#r-period, #r-cohort, #r-mode), as the view's options. */
function readRetentionOptions(): RetentionOptions {
  const chosen = (key: keyof RetentionOptions) => byId<HTMLSelectElement>(`r-${key}`).value;
  return {
    period: retentionOption('period', chosen('period')),
    cohort: retentionOption('cohort', chosen('cohort')),
    mode: retentionOption('mode', chosen('mode')),
  };
}

// The table's options change only the table: no new stats, table page or stream.
byId('retention-options').addEventListener('change', () => {
  const next = { ...view, ...readRetentionOptions() };
  if (viewToSearch(next) === viewToSearch(view)) return;
  view = next;
  history.pushState(null, '', `${location.pathname}${viewToSearch(view)}`);
  void reports.now();
});

/** The funnel builder's definition (null: none): a new URL, and only the funnel reloads. */
function setFunnel(definition: FunnelDefinition | null): void {
  const next = { ...view, funnel: definition };
  if (viewToSearch(next) === viewToSearch(view)) return;
  view = next;
  history.pushState(null, '', `${location.pathname}${viewToSearch(view)}`);
  funnel.show(view);
  funnel.reload();
}

// ---------------------------------------------------------------- live status and lag

const MODE_LABELS: Record<LiveMode, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  polling: 'Updating every 5 s',
  paused: 'Paused',
  offline: 'Offline',
};

function showMode(live: LiveMode): void {
  // While the API is down the stream's own state (polling, reconnecting) says less than "offline".
  const mode: LiveMode = apiDown ? 'offline' : live;
  const pill = byId('live-status');
  pill.dataset.mode = mode;
  byId('live-label').textContent = MODE_LABELS[mode];
}

function showLag(data: unknown): void {
  const lag = parseLag(data);
  if (!lag) return;
  showRetention(lag.rawRowsFrom);
  const notice = byId('lag-notice');
  notice.hidden = !lag.lagging;
  if (!lag.lagging) return;
  const parts: string[] = [];
  if (lag.replicaDelayMs !== null && lag.replicaDelayMs >= LAG_REPLICA_MS)
    parts.push(`the read replica is ${formatAge(lag.replicaDelayMs)} behind the primary`);
  if (lag.consumerLag !== null && lag.consumerLag > 0)
    parts.push(`${formatNumber(lag.consumerLag, 'integer')} events are waiting to be stored`);
  if (lag.sinceBatchMs !== null && lag.sinceBatchMs > 10_000)
    parts.push(`the last batch was stored ${formatAge(lag.sinceBatchMs)} ago`);
  else if (lag.sinceBatchMs === null) parts.push('no processor has stored a batch yet');
  if (lag.ageMs !== null) parts.push(`the newest stored event is ${formatAge(lag.ageMs)} old`);
  byId('lag-text').textContent =
    `${parts.join('; ') || 'Events are being stored with a delay'}. The numbers catch up on their own.`;
}

/** Under the table: since when raw rows are kept, when retention has dropped older ones. */
function showRetention(rawRowsFrom: string | null): void {
  const note = byId('retention-note');
  note.hidden = rawRowsFrom === null;
  if (rawRowsFrom === null) return;
  const from = new Date(rawRowsFrom).toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
  note.textContent = `Raw interactions (this table and exports) are kept from ${from} (UTC); statistics and charts include everything before.`;
}

// ---------------------------------------------------------------- filters and URL

function fillForm(): void {
  for (const key of FILTER_KEYS) {
    const field = form.elements.namedItem(key) as HTMLInputElement | HTMLSelectElement | null;
    if (!field) continue;
    if (
      field instanceof HTMLSelectElement &&
      view[key] &&
      ![...field.options].some((o) => o.value === view[key])
    ) {
      field.append(h('option', { value: view[key] }, view[key]));
    }
    field.value = view[key];
  }
  for (const key of RETENTION_KEYS) byId<HTMLSelectElement>(`r-${key}`).value = view[key];
  // Sessions and cohorts are not chosen by one action (the endpoints refuse it): say so.
  byId('sessions-action-note').hidden = !view.action;
  byId('retention-action-note').hidden = !view.action;
  funnel.show(view);
  byId('reset-filters').hidden = !hasFilters(view);
  byId('filter-summary').textContent = describeView(view);
  markPreset();
  updateExport();
  document.title = hasFilters(view) ? `${describeView(view)} · Tracker` : 'Interactions · Tracker';
}

function readForm(): View {
  const data = new FormData(form);
  const next = clearFilters(view);
  for (const key of FILTER_KEYS) next[key] = String(data.get(key) ?? '').trim();
  return next;
}

function setView(next: View, opts: { push?: boolean; reason?: LoadReason } = {}): void {
  const same = viewToSearch(next) === viewToSearch(view);
  // Enter in a filter box submits the form, fires `change` and (type=search) `search`: one load.
  if (same && (opts.reason ?? 'filters') === 'filters') return;
  view = next;
  if (!same) {
    // push: false (a correction, e.g. a refused cursor dropped) replaces the entry, so the address
    // bar, a reload and a shared link all show the corrected view.
    const url = `${location.pathname}${viewToSearch(view)}`;
    if (opts.push === false) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
  }
  fillForm();
  if (!next.cursor) pageIndex = 0;
  restartLive();
  void load(opts.reason ?? 'filters');
}

function markPreset(): void {
  const today = localDay(new Date());
  for (const chip of form.querySelectorAll<HTMLButtonElement>('[data-range]')) {
    const range = chip.dataset.range!;
    let on = false;
    if (range === 'all') on = !view.from && !view.to;
    else {
      const from = new Date();
      from.setDate(from.getDate() - (Number(range) - 1));
      on = view.from === localDay(from) && view.to === today;
    }
    chip.setAttribute('aria-pressed', String(on));
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  setView({ ...readForm(), cursor: '' });
});
form.addEventListener('change', () => {
  const next = { ...readForm(), cursor: '' };
  if (viewToSearch(next) !== viewToSearch({ ...view, cursor: '' })) setView(next);
});
form.addEventListener('input', (event) => {
  // Picking a suggestion from a datalist commits the value at once (no blur needed).
  const input = event as InputEvent;
  if (input.inputType === 'insertReplacementText' || input.inputType === undefined) form.requestSubmit();
});
// The clear button of a search field.
form.addEventListener('search', () => form.requestSubmit(), true);
for (const chip of form.querySelectorAll<HTMLButtonElement>('[data-range]')) {
  chip.addEventListener('click', () => {
    const range = chip.dataset.range!;
    if (range === 'all') {
      setView({ ...view, from: '', to: '', cursor: '' });
      return;
    }
    const from = new Date();
    from.setDate(from.getDate() - (Number(range) - 1));
    setView({ ...view, from: localDay(from), to: localDay(new Date()), cursor: '' });
  });
}
byId('reset-filters').addEventListener('click', () => setView(clearFilters(view)));
window.addEventListener('popstate', () => {
  view = viewFromUrl(location.search);
  pageIndex = view.cursor ? null : 0;
  fillForm();
  restartLive();
  void load('filters');
});

// ---------------------------------------------------------------- table paging and export

function updatePager(page: InteractionPage): void {
  const prev = byId<HTMLButtonElement>('prev');
  const next = byId<HTMLButtonElement>('next');
  prev.disabled = !view.cursor && !page.prevCursor;
  next.disabled = !page.nextCursor;
  const total = typeof page.total === 'number' ? page.total : lastStats?.totalActions;
  const info = byId('page-info');
  if (page.items.length === 0) info.textContent = '';
  else if (pageIndex !== null) {
    const first = pageIndex * PAGE_SIZE + 1;
    const last = first + page.items.length - 1;
    info.textContent =
      total !== undefined
        ? `${formatNumber(first, 'integer')}–${formatNumber(last, 'integer')} of ${formatNumber(total, 'integer')}`
        : `${first}–${last}`;
  } else info.textContent = `${page.items.length} interactions`;
}

byId('next').addEventListener('click', () => {
  if (!lastPage?.nextCursor) return;
  pageIndex = pageIndex === null ? null : pageIndex + 1;
  setView({ ...view, cursor: lastPage.nextCursor }, { reason: 'page' });
});
byId('prev').addEventListener('click', () => {
  let cursor = lastPage?.prevCursor ?? '';
  if (pageIndex !== null) pageIndex = Math.max(0, pageIndex - 1);
  if (pageIndex === 0) cursor = '';
  setView({ ...view, cursor }, { reason: 'page' });
});
byId('new-rows').addEventListener('click', () => setView({ ...view, cursor: '' }, { reason: 'page' }));

function updateExport(): void {
  const params = filterParams(view);
  params.set('format', 'csv');
  // Never the key: with one, a click first fetches a short-lived signed link (below).
  const link = byId<HTMLAnchorElement>('export');
  link.href = apiUrl('export', params);
  link.setAttribute('download', `interactions-${localDay(new Date())}.csv`);
}

byId<HTMLAnchorElement>('export').addEventListener('click', (event) => {
  // Without a key the plain link downloads (an API without read keys).
  if (storedKey() === null) return;
  event.preventDefault();
  const link = event.currentTarget as HTMLAnchorElement;
  const params = new URL(link.href).searchParams;
  postJson<ExportLink>('export/link', params).then(
    (answer) => {
      // A link the browser follows itself, so the file streams to disk instead of into memory.
      const signed = document.createElement('a');
      signed.href = apiUrl('export') + new URL(answer.url, location.href).search;
      signed.download = link.getAttribute('download') ?? '';
      signed.click();
    },
    (error: unknown) => failed(error, 'filters'),
  );
});

// ---------------------------------------------------------------- keys

const dialog = byId<HTMLDialogElement>('key-dialog');

function askForKey(rejected: boolean): void {
  setState('locked');
  byId('error-title').textContent = 'A read key is required';
  byId('error-text').textContent = 'This query API only answers requests that carry one of its read keys.';
  byId('retry').textContent = 'Enter read key';
  byId('retry').dataset.action = 'key';
  live.stop();
  liveUrl = '';
  showMode('paused');
  byId('key-error').hidden = !rejected;
  byId('key-forget').hidden = storedKey() === null;
  if (!dialog.open) dialog.showModal();
  byId<HTMLInputElement>('key-input').focus();
}

byId('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = byId<HTMLInputElement>('key-input').value.trim();
  if (!value) return;
  storeKey(value);
  byId<HTMLInputElement>('key-input').value = '';
  dialog.close();
  keyChanged();
});
byId('key-forget').addEventListener('click', () => {
  storeKey(null);
  dialog.close();
  keyChanged();
});
byId('key-button').addEventListener('click', () => {
  byId('key-error').hidden = true;
  byId('key-forget').hidden = storedKey() === null;
  dialog.showModal();
});

function keyChanged(): void {
  byId('key-button').hidden = storedKey() === null;
  updateExport();
  void funnel.listSaved();
  setState('loading');
  restartLive();
  void load('retry');
}

byId('retry').addEventListener('click', () => {
  if (byId('retry').dataset.action === 'key') askForKey(false);
  else {
    setState('loading');
    void load('retry');
  }
});

// ---------------------------------------------------------------- facets, dead letters, live

function fillList(id: string, values: string[]): void {
  byId(id).replaceChildren(...values.slice(0, 200).map((value) => h('option', { value })));
}

/** Page suggestions, plus the section prefixes (`/docs/*`) the page filter accepts. */
function pageSuggestions(pages: string[]): string[] {
  const prefixes = new Set<string>();
  for (const page of pages) {
    const parts = page.split('/');
    for (let depth = 2; depth < parts.length; depth++) prefixes.add(`${parts.slice(0, depth).join('/')}/*`);
  }
  return [...pages, ...[...prefixes].sort()];
}

const FACET_LISTS = { users: 'dl-users', actions: 'dl-actions', pages: 'dl-pages' } as const;
type ListFacet = keyof typeof FACET_LISTS;

async function loadFacets(only?: ListFacet, q?: string): Promise<void> {
  const params = new URLSearchParams({ limit: '100' });
  if (only) params.set('facet', only);
  if (q) params.set('q', q);
  try {
    const facets = await getJson<Facets>('facets', params);
    const values = (list: FacetValue[] | undefined) => (list ?? []).map((f) => f.value);
    if (!only || only === 'users') fillList(FACET_LISTS.users, values(facets.users));
    if (!only || only === 'actions') fillList(FACET_LISTS.actions, values(facets.actions));
    if (!only || only === 'pages') fillList(FACET_LISTS.pages, pageSuggestions(values(facets.pages)));
    if (!only && facets.roles?.length) {
      const select = byId<HTMLSelectElement>('f-role');
      select.replaceChildren(
        h('option', { value: '' }, 'Any role'),
        // A fixed order in the select (the facet lists the most frequent first).
        ...[...facets.roles]
          .sort((a, b) => rank(DEFAULT_ROLES, a.value) - rank(DEFAULT_ROLES, b.value))
          .map((role) => h('option', { value: role.value }, role.value)),
      );
      select.value = view.role;
    }
  } catch {
    // Suggestions are a convenience; the main load reports real problems.
  }
}

// Suggestions follow what is typed (the API searches every known value, not only the first 100), in
// the filter bar and the funnel's steps alike: every input with data-suggest="users|actions|pages".
const suggestTimers: Partial<Record<ListFacet, number>> = {};
document.addEventListener('input', (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || !input.dataset.suggest) return;
  if ((event as InputEvent).inputType === 'insertReplacementText') return;
  const facet = input.dataset.suggest as ListFacet;
  window.clearTimeout(suggestTimers[facet]);
  // A funnel step's actions are comma-separated (no action holds a comma): suggest for the last one.
  const typed = facet === 'actions' ? (input.value.split(',').at(-1) ?? '') : input.value;
  const q = typed.trim().replace(/\*$/, '');
  suggestTimers[facet] = window.setTimeout(() => void loadFacets(facet, q || undefined), 250);
});

async function loadDlq(): Promise<void> {
  try {
    const dlq = await getJson<DlqSummary>('dlq', new URLSearchParams({ limit: '1' }));
    const note = byId('dlq-note');
    note.hidden = !(dlq.count > 0);
    note.textContent = `${formatNumber(dlq.count, 'integer')} dead-lettered`;
    note.title = 'Messages the processor could not store; GET /api/dlq lists them with their reasons';
  } catch {
    // Optional information.
  }
}

function restartLive(force = false): void {
  const params = filterParams(view);
  params.set('tz', tz);
  const key = storedKey();
  // EventSource cannot send headers: the read key goes in the query string.
  if (key) params.set('key', key);
  const url = apiUrl('stream', params);
  if (url === liveUrl && !force) return;
  liveUrl = url;
  live.start(url);
}

// ---------------------------------------------------------------- start

function start(): void {
  byId('tz-label').textContent = tz;
  byId('key-button').hidden = storedKey() === null;
  const ingest = `${location.protocol}//${location.hostname}:3001/v1/events`;
  byId('empty-curl').textContent =
    `curl -X POST ${ingest} \\\n  -H 'content-type: application/json' \\\n  -d '{"userId":"alice","action":"page_view","page":"/pricing"}'`;
  setupThemeToggle(byId<HTMLButtonElement>('theme-toggle'), () => charts.retheme());
  for (const role of DEFAULT_ROLES) byId('f-role').append(h('option', { value: role }, role));
  fillForm();
  setState('loading');
  sessions.loading(true);
  void load('initial');
  void loadFacets();
  void loadDlq();
  void funnel.listSaved();
  window.setInterval(() => {
    if (!document.hidden && state === 'ready') {
      void loadFacets();
      void loadDlq();
    }
  }, 60_000);
  restartLive();
}

start();
