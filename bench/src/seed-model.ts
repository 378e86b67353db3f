import type { IdentifyInput, InteractionInput, Role } from '@tracker/schemas';
import { createRng, type Rng, stableUuid, Weighted, zipfWeights } from './seed-random.js';

/** What to generate. Everything below is a pure function of it. */
export interface SeedPlan {
  /** Interactions to generate (identify calls come on top). */
  count: number;
  users: number;
  /** Days of history, ending at `end`. */
  days: number;
  /** Epoch ms of the newest possible event. */
  end: number;
  seed: number;
  /** Share of USER/ADMIN users that get an identify call. */
  identifyShare: number;
}

const DAY = 86_400_000;

export interface SeedUser {
  userId: string;
  role: Role;
  /** Relative activity (Zipf over a random ranking). */
  weight: number;
  bot: boolean;
  userAgent: string;
  plan: 'free' | 'pro' | 'enterprise';
  identified: boolean;
}

export interface SitePage {
  path: string;
  title: string;
  section: string;
}

// --------------------------------------------------------------------------------------------- site ---

const TOPICS = [
  'getting-started',
  'installation',
  'configuration',
  'authentication',
  'events',
  'identify',
  'batching',
  'retention',
  'exports',
  'dashboards',
  'funnels',
  'cohorts',
  'api-keys',
  'webhooks',
  'self-hosting',
  'kafka',
  'postgresql',
  'scaling',
  'privacy',
  'gdpr',
  'sampling',
  'sdk-javascript',
  'sdk-python',
  'sdk-go',
  'troubleshooting',
  'upgrading',
  'changelog',
  'faq',
];
const POSTS = [
  'why-we-self-host',
  'exactly-once-analytics',
  'kafka-for-product-teams',
  'counting-users-right',
  'tracking-without-cookies',
  'spa-page-views',
  'sendbeacon-explained',
  'clock-skew',
  'avro-or-json',
  'postgres-aggregates',
  'bot-traffic',
  'zipf-in-the-wild',
  'funnel-mistakes',
  'retention-curves',
  'pricing-change-2026',
  'launch-week',
  'hiring-engineers',
  'incident-postmortem',
  'dark-mode',
  'open-source-anniversary',
  'benchmarks-q3',
  'customer-story-acme',
  'customer-story-globex',
  'customer-story-initech',
  'event-naming-guide',
];
const PRODUCTS = ['analytics', 'session-replay', 'feature-flags', 'surveys', 'data-warehouse', 'experiments'];

function titleOf(slug: string): string {
  return slug.replace(/-/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
}

/** The synthetic site: ~90 pages, most popular first (the ranking drives a power law of views). */
export function sitePages(): SitePage[] {
  const core: SitePage[] = [
    { path: '/', title: 'Home', section: 'home' },
    { path: '/pricing', title: 'Pricing', section: 'marketing' },
    { path: '/docs', title: 'Documentation', section: 'docs' },
    { path: '/docs/getting-started', title: 'Getting started', section: 'docs' },
    { path: '/signup', title: 'Sign up', section: 'account' },
    { path: '/login', title: 'Log in', section: 'account' },
    { path: '/blog', title: 'Blog', section: 'blog' },
    { path: '/features', title: 'Features', section: 'marketing' },
    { path: '/search', title: 'Search', section: 'search' },
    { path: '/account', title: 'Your account', section: 'account' },
    { path: '/checkout', title: 'Checkout', section: 'shop' },
    { path: '/contact', title: 'Contact us', section: 'marketing' },
    { path: '/about', title: 'About', section: 'marketing' },
    { path: '/admin', title: 'Admin', section: 'admin' },
    { path: '/admin/users', title: 'Admin · users', section: 'admin' },
    { path: '/admin/settings', title: 'Admin · settings', section: 'admin' },
  ];
  const docs = TOPICS.slice(1).map((t) => ({ path: `/docs/${t}`, title: titleOf(t), section: 'docs' }));
  const posts = POSTS.map((p) => ({ path: `/blog/${p}`, title: titleOf(p), section: 'blog' }));
  const products = PRODUCTS.flatMap((p) => [
    { path: `/products/${p}`, title: titleOf(p), section: 'marketing' },
    { path: `/products/${p}/docs`, title: `${titleOf(p)} docs`, section: 'docs' },
  ]);
  // Interleave so every section has popular and obscure pages.
  const tail: SitePage[] = [];
  for (let i = 0; i < Math.max(docs.length, posts.length, products.length); i++) {
    for (const list of [docs, posts, products]) if (list[i]) tail.push(list[i]!);
  }
  return [...core, ...tail];
}

// -------------------------------------------------------------------------------------------- users ---

const USER_AGENTS = Weighted.of([
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    34,
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    14,
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    14,
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    16,
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    12,
  ],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 6],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
    4,
  ],
] as const);
const BOT_AGENTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
];
const PLANS = Weighted.of([
  ['free', 70],
  ['pro', 25],
  ['enterprise', 5],
] as const);

/**
 * The population: about 2% ADMIN (at least one), 55% USER, the rest GUEST (a few of them crawlers).
 * Activity follows Zipf's law over a shuffled ranking, so a few users make a large share of events
 * whatever their role.
 */
export function buildUsers(
  plan: Pick<SeedPlan, 'users' | 'seed' | 'identifyShare'>,
  rng = createRng(plan.seed),
): SeedUser[] {
  const n = plan.users;
  const admins = Math.max(1, Math.round(n * 0.02));
  const members = Math.round((n - admins) * 0.56);
  const ranks = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
  }
  const weights = zipfWeights(n, 1.05);
  return ranks.map((rank, i) => {
    const role: Role = i < admins ? 'ADMIN' : i < admins + members ? 'USER' : 'GUEST';
    const bot = role === 'GUEST' && rng.chance(0.04);
    const userId =
      role === 'ADMIN'
        ? `admin-${String(i + 1).padStart(3, '0')}`
        : role === 'USER'
          ? `user-${String(i + 1).padStart(5, '0')}`
          : `anon-${rng.hex(12)}`;
    return {
      userId,
      role,
      weight: weights[rank]! * (bot ? 3 : 1),
      bot,
      userAgent: bot ? rng.pick(BOT_AGENTS) : USER_AGENTS.sample(rng),
      plan: role === 'ADMIN' ? 'enterprise' : PLANS.sample(rng),
      identified: role !== 'GUEST' && rng.chance(plan.identifyShare),
    };
  });
}

// --------------------------------------------------------------------------------------------- time ---

/** Relative traffic by UTC hour: quiet at night, a morning ramp, an afternoon peak. */
export const HOURLY = [
  0.18, 0.12, 0.09, 0.07, 0.07, 0.1, 0.2, 0.38, 0.62, 0.82, 0.93, 0.98, 0.96, 0.99, 1.0, 0.97, 0.9, 0.8, 0.68,
  0.58, 0.5, 0.44, 0.34, 0.25,
];
/** Relative traffic by weekday (0 = Sunday): weekends are quieter. */
export const WEEKLY = [0.5, 1.0, 1.04, 1.02, 0.98, 0.88, 0.55];

/** Session start times over the plan's days: weekly and daily rhythm, slow growth over the weeks. */
export function sessionClock(plan: Pick<SeedPlan, 'days' | 'end'>) {
  const firstDay = Math.floor(plan.end / DAY) * DAY - (plan.days - 1) * DAY;
  const days = Array.from({ length: plan.days }, (_, i) => firstDay + i * DAY);
  const dayWeights = days.map(
    (d, i) => WEEKLY[new Date(d).getUTCDay()]! * (1 + (0.25 * i) / Math.max(1, plan.days)),
  );
  const byDay = new Weighted(days, dayWeights);
  const byHour = new Weighted(
    HOURLY.map((_, h) => h),
    HOURLY,
  );
  return {
    start: firstDay,
    next(rng: Rng): number {
      for (let tries = 0; tries < 20; tries++) {
        const t = byDay.sample(rng) + byHour.sample(rng) * 3_600_000 + rng.int(0, 3_599_999);
        if (t <= plan.end) return t;
      }
      return plan.end - rng.int(0, 3_600_000);
    },
  };
}

// ------------------------------------------------------------------------------------------ actions ---

type Step =
  | 'page_view'
  | 'click'
  | 'search'
  | 'form_submit'
  | 'signup'
  | 'login'
  | 'purchase'
  | 'add_to_cart'
  | 'video_play'
  | 'download'
  | 'share'
  | 'scroll_depth'
  | 'copy_snippet'
  | 'export_report'
  | 'settings_update';

/** What happens after the landing page view, for a signed-up user, a guest and an admin. */
const STEPS: Record<'USER' | 'GUEST' | 'ADMIN', Weighted<Step>> = {
  USER: Weighted.of<Step>([
    ['page_view', 52],
    ['click', 22],
    ['search', 5],
    ['form_submit', 2],
    ['login', 2],
    ['purchase', 1.2],
    ['add_to_cart', 3],
    ['video_play', 2],
    ['download', 1.5],
    ['share', 1],
    ['scroll_depth', 6],
    ['copy_snippet', 2],
  ]),
  GUEST: Weighted.of<Step>([
    ['page_view', 58],
    ['click', 22],
    ['search', 4],
    ['form_submit', 2.5],
    ['signup', 1.5],
    ['add_to_cart', 1],
    ['video_play', 3],
    ['download', 1],
    ['share', 0.5],
    ['scroll_depth', 6],
  ]),
  ADMIN: Weighted.of<Step>([
    ['page_view', 48],
    ['click', 24],
    ['search', 3],
    ['form_submit', 3],
    ['login', 3],
    ['export_report', 5],
    ['settings_update', 4],
    ['download', 2],
    ['scroll_depth', 4],
    ['copy_snippet', 4],
  ]),
};
const REFERRERS = Weighted.of([
  ['', 38],
  ['https://www.google.com/', 34],
  ['https://duckduckgo.com/', 5],
  ['https://news.ycombinator.com/', 7],
  ['https://www.reddit.com/', 5],
  ['https://github.com/', 6],
  ['https://www.linkedin.com/', 5],
] as const);
const CLICK_TARGETS = [
  { tag: 'a', text: 'Get started', id: 'cta-start' },
  { tag: 'a', text: 'See pricing', id: 'cta-pricing' },
  { tag: 'button', text: 'Copy', id: 'copy' },
  { tag: 'a', text: 'Read the docs', id: 'nav-docs' },
  { tag: 'button', text: 'Open menu', id: 'menu' },
  { tag: 'a', text: 'Next', id: 'pager-next' },
  { tag: 'button', text: 'Dark mode', id: 'theme' },
  { tag: 'a', text: 'Sign up', id: 'nav-signup' },
] as const;
const FORMS = [
  { id: 'signup-form', page: '/signup' },
  { id: 'login-form', page: '/login' },
  { id: 'contact-form', page: '/contact' },
  { id: 'newsletter', page: '/blog' },
] as const;
const PRICES = { free: 0, pro: 29, enterprise: 499 } as const;

/** Generates interactions and identify calls for a plan; a pure function of the plan. */
export class TrafficModel {
  readonly users: SeedUser[];
  readonly pages: SitePage[];
  private readonly rng: Rng;
  private readonly pickUser: Weighted<SeedUser>;
  private readonly pickPage: Weighted<SitePage>;
  private readonly bySection = new Map<string, SitePage[]>();
  private readonly clock: ReturnType<typeof sessionClock>;

  constructor(readonly plan: SeedPlan) {
    this.rng = createRng(plan.seed);
    this.users = buildUsers(plan, this.rng);
    this.pages = sitePages();
    this.pickUser = new Weighted(
      this.users,
      this.users.map((u) => u.weight),
    );
    // Admin pages are for admins: out of everybody's ranking.
    const publicPages = this.pages.filter((p) => p.section !== 'admin');
    this.pickPage = new Weighted(publicPages, zipfWeights(publicPages.length, 1.15));
    for (const p of this.pages) this.bySection.set(p.section, [...(this.bySection.get(p.section) ?? []), p]);
    this.clock = sessionClock(plan);
  }

  /** One identify call per identified user, dated when they "signed up" (early in the range). */
  identifyCalls(): IdentifyInput[] {
    const span = this.plan.end - this.clock.start;
    return this.users
      .filter((u) => u.identified)
      .map((u) => ({
        userId: u.userId,
        role: u.role,
        traits: { plan: u.plan, source: this.rng.pick(['organic', 'ads', 'referral', 'newsletter']) },
        timestamp: new Date(this.clock.start + Math.floor(this.rng.float() * span * 0.3)).toISOString(),
      }));
  }

  /** Exactly `plan.count` interactions, session after session. */
  *events(): Generator<InteractionInput> {
    let i = 0;
    while (i < this.plan.count) {
      for (const event of this.session()) {
        if (i >= this.plan.count) return;
        event.eventId = stableUuid(this.plan.seed, this.plan.end, i);
        i++;
        yield event;
      }
    }
  }

  private session(): InteractionInput[] {
    const rng = this.rng;
    const user = this.pickUser.sample(rng);
    const sessionId = `s-${rng.hex(16)}`;
    let t = this.clock.next(rng);
    let page = user.role === 'ADMIN' && rng.chance(0.4) ? this.page('/admin') : this.pickPage.sample(rng);
    const length = user.bot ? rng.int(3, 25) : 1 + Math.min(60, Math.floor(rng.exponential(6)));
    const out: InteractionInput[] = [];
    const push = (action: string, at: SitePage, properties: Record<string, string | number | boolean>) => {
      out.push({
        userId: user.userId,
        role: user.role,
        action,
        page: at.path,
        timestamp: new Date(t).toISOString(),
        sessionId,
        properties,
        userAgent: user.userAgent,
      });
    };
    const referrer = REFERRERS.sample(rng);
    push('page_view', page, referrer ? { title: page.title, referrer } : { title: page.title });
    const steps = STEPS[user.role];
    for (let k = 1; k < length; k++) {
      t += 2000 + Math.round(rng.exponential(25_000));
      if (t > this.plan.end) break;
      const step: Step = user.bot ? 'page_view' : steps.sample(rng);
      switch (step) {
        case 'page_view': {
          const previous = page;
          const sameSection = this.bySection.get(page.section) ?? [];
          page =
            rng.chance(0.35) && sameSection.length > 1 ? rng.pick(sameSection) : this.pickPage.sample(rng);
          if (user.role === 'ADMIN' && rng.chance(0.3)) page = rng.pick(this.bySection.get('admin')!);
          push('page_view', page, { title: page.title, referrer: previous.path });
          break;
        }
        case 'click': {
          const target = rng.pick(CLICK_TARGETS);
          push('click', page, { tag: target.tag, id: target.id, text: target.text });
          break;
        }
        case 'search':
          page = this.page('/search');
          push('search', page, { query_length: rng.int(2, 40), results: Math.floor(rng.exponential(12)) });
          break;
        case 'form_submit': {
          const form = rng.pick(FORMS);
          page = this.page(form.page);
          push('form_submit', page, { id: form.id, action: form.page, method: 'post' });
          break;
        }
        case 'signup':
          page = this.page('/signup');
          push('form_submit', page, { id: 'signup-form', action: '/signup', method: 'post' });
          push('signup', page, { plan: user.plan });
          break;
        case 'login':
          page = this.page('/login');
          push('login', page, { method: rng.pick(['password', 'sso', 'magic_link']) });
          break;
        case 'purchase':
          page = this.page('/checkout');
          push('purchase', page, {
            plan: user.plan === 'free' ? 'pro' : user.plan,
            amount: PRICES[user.plan === 'free' ? 'pro' : user.plan],
            currency: 'USD',
          });
          break;
        case 'add_to_cart':
          push('add_to_cart', page, { product: rng.pick(PRODUCTS), quantity: rng.int(1, 3) });
          break;
        case 'video_play':
          push('video_play', page, { video: 'product-tour', position_s: rng.int(0, 90) });
          break;
        case 'download':
          push('download', page, { file: rng.pick(['whitepaper.pdf', 'tracker-sdk.zip', 'pricing.pdf']) });
          break;
        case 'share':
          push('share', page, { network: rng.pick(['x', 'linkedin', 'email', 'copy_link']) });
          break;
        case 'scroll_depth':
          push('scroll_depth', page, { percent: rng.pick([25, 50, 75, 100]) });
          break;
        case 'copy_snippet':
          push('copy_snippet', page, { language: rng.pick(['html', 'javascript', 'curl']) });
          break;
        case 'export_report':
          page = this.page('/admin');
          push('export_report', page, { format: rng.pick(['csv', 'ndjson']), rows: rng.int(10, 50_000) });
          break;
        case 'settings_update':
          page = this.page('/admin/settings');
          push('settings_update', page, {
            setting: rng.pick(['retention_days', 'write_keys', 'cors_origins']),
          });
          break;
      }
    }
    return out;
  }

  private page(path: string): SitePage {
    return this.pages.find((p) => p.path === path)!;
  }
}
