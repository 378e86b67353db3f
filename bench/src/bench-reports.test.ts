import { describe, expect, it } from 'vitest';
import { REPORT_GOALS, reportVariants } from './bench-reports.js';

describe('reportVariants', () => {
  const now = Date.parse('2026-12-07T12:00:00.000Z');
  const variants = reportVariants(now);
  const find = (name: string, variant: string) =>
    variants.find((v) => v.name === name && v.variant === variant)!;

  it('times four session statistics, three funnels and two retention tables, each with its goal', () => {
    expect(variants.map((v) => `${v.name} ${v.variant}`)).toEqual([
      'session_stats none',
      'session_stats last30Days',
      'session_stats role',
      'session_stats pagePrefix',
      'funnel sequential',
      'funnel orderAny',
      'funnel unitSessions',
      'retention anyEvent',
      'retention signupToPurchase',
    ]);
    expect(Object.keys(REPORT_GOALS)).toEqual(['session_stats', 'funnel', 'retention']);
    expect(REPORT_GOALS.session_stats).toEqual({ field: 'p95', op: '<=', target: 50 });
  });

  it('gives the baseline the same sessions the request asks for', () => {
    const last30 = find('session_stats', 'last30Days');
    expect(last30.request.path).toBe(
      '/api/sessions/stats?from=2026-11-07T12%3A00%3A00.000Z&to=2026-12-07T12%3A00%3A00.000Z',
    );
    expect(last30.sessions).toEqual({ from: Date.parse('2026-11-07T12:00:00.000Z'), to: now });
    expect(find('session_stats', 'none')).toMatchObject({ request: { path: '/api/sessions/stats' } });
    expect(find('session_stats', 'none').sessions).toEqual({});
    expect(find('session_stats', 'role').sessions).toEqual({ role: 'USER' });
    // The API's `/docs/*` is the prefix `/docs/`.
    const prefix = find('session_stats', 'pagePrefix');
    expect(new URL(prefix.request.path, 'http://x').searchParams.get('page')).toBe('/docs/*');
    expect(prefix.sessions).toEqual({ pagePrefix: '/docs/' });
    for (const v of variants.filter((x) => x.name !== 'session_stats')) expect(v.sessions).toBeUndefined();
  });

  it('posts the 4-step funnel over the last 30 days, with default options but one', () => {
    const bodies = variants
      .filter((v) => v.name === 'funnel')
      .map((v) => {
        expect(v.request).toMatchObject({ method: 'POST', path: '/api/funnels' });
        return JSON.parse(v.request.body!) as Record<string, unknown>;
      });
    for (const b of bodies) {
      expect(b.steps).toEqual([
        { actions: ['page_view'] },
        { actions: ['add_to_cart'] },
        { actions: ['signup'] },
        { actions: ['purchase'] },
      ]);
      expect([b.from, b.to]).toEqual(['2026-11-07T12:00:00.000Z', '2026-12-07T12:00:00.000Z']);
    }
    expect(bodies.map(({ steps: _s, from: _f, to: _t, ...rest }) => rest)).toEqual([
      {},
      { order: 'any' },
      { unit: 'sessions' },
    ]);
  });

  it('asks for 12 weeks of retention, any event and signup to purchase', () => {
    expect(find('retention', 'anyEvent').request).toEqual({
      method: 'GET',
      path: '/api/retention?period=week&periods=12',
    });
    expect(find('retention', 'signupToPurchase').request.path).toBe(
      '/api/retention?period=week&periods=12&startAction=signup&returnAction=purchase',
    );
  });
});
