import { describe, expect, it } from 'vitest';
import { clearFilters, reportParams, retentionParams, viewFromUrl, viewToSearch } from './filters.js';

describe('the retention options in the view', () => {
  it('reads them from the URL, the unknown as the default, and writes only what differs from it', () => {
    const view = viewFromUrl('?role=ADMIN&period=day&cohort=recurring&mode=onOrAfter');
    expect(view).toMatchObject({ role: 'ADMIN', period: 'day', cohort: 'recurring', mode: 'onOrAfter' });
    expect(viewToSearch(view)).toBe('?role=ADMIN&period=day&cohort=recurring&mode=onOrAfter');
    const defaults = viewFromUrl('?period=year&cohort=&mode=ON');
    expect(defaults).toMatchObject({ period: 'week', cohort: 'first', mode: 'on' });
    expect(viewToSearch(defaults)).toBe('');
  });

  it('keeps them when the filters are cleared', () => {
    const cleared = clearFilters(viewFromUrl('?userId=u&action=click&period=month&cursor=abc'));
    expect(viewToSearch(cleared)).toBe('?period=month');
  });
});

describe('the reports’ parameters', () => {
  it('leave out the action (the endpoints refuse it) and the cursor', () => {
    const view = viewFromUrl('?userId=u&role=GUEST&action=click&page=%2Fdocs%2F*&cursor=abc');
    expect(Object.fromEntries(reportParams(view))).toEqual({ userId: 'u', role: 'GUEST', page: '/docs/*' });
  });

  it('send the retention options and the time zone', () => {
    const params = retentionParams(viewFromUrl('?action=click&period=day'), 'Asia/Kolkata');
    expect(Object.fromEntries(params)).toEqual({
      period: 'day',
      cohort: 'first',
      mode: 'on',
      tz: 'Asia/Kolkata',
    });
  });
});
