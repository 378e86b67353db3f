import { describe, expect, it } from 'vitest';
import { funnelBody, viewFromUrl, viewToSearch } from './filters.js';
import {
  DEFAULT_WINDOW_SECONDS,
  definitionProblem,
  describeWindow,
  funnelFromParams,
  funnelKey,
  funnelToParams,
  normalizeFunnel,
  splitWindow,
} from './funnel-def.js';

const read = (search: string) => funnelFromParams(new URLSearchParams(search));
const write = (search: string) => {
  const params = new URLSearchParams();
  const funnel = read(search);
  if (funnel) funnelToParams(funnel, params);
  return params.toString();
};

describe('a funnel in the page URL', () => {
  it('reads steps with actions, a role and a page, and the options', () => {
    expect(
      read(
        '?step=page_view%40%2Fpricing&step=Signup,login~admin&step=click%40%2Fa%40b%2C%3E*&order=strict&window=2h&unit=sessions&entry=best',
      ),
    ).toEqual({
      steps: [
        { actions: ['page_view'], page: '/pricing' },
        { actions: ['signup', 'login'], role: 'ADMIN' },
        // Everything after the first @ is the page, whatever it holds.
        { actions: ['click'], page: '/a@b,>*' },
      ],
      order: 'strict',
      windowSeconds: 7200,
      unit: 'sessions',
      entry: 'best',
    });
  });

  it('writes what it reads, the options only where they are not the default', () => {
    const search = 'step=page_view%40%2Fpricing&step=signup%2Clogin%7EADMIN&order=any&window=90m';
    expect(write(`?${search}`)).toBe(search);
    expect(write('?step=a&step=b&order=sequential&window=14d&unit=users&entry=first')).toBe('step=a&step=b');
  });

  it('leaves out steps and options that do not read, and is no funnel with fewer than two steps', () => {
    expect(read('?step=a&step=sign%20up&step=b~NOBODY&step=%40%2Fx&step=c%40&step=d')).toEqual(
      normalizeFunnel({ steps: [{ actions: ['a'] }, { actions: ['d'] }] }),
    );
    const defaults = read('?step=a&step=b&order=up&window=91d&unit=x&entry=');
    expect(defaults).toMatchObject({
      order: 'sequential',
      windowSeconds: DEFAULT_WINDOW_SECONDS,
      unit: 'users',
    });
    expect(read('?step=a&step=b&window=0s')?.windowSeconds).toBe(DEFAULT_WINDOW_SECONDS);
    expect(read('?step=a&step=b&window=1.5h')?.windowSeconds).toBe(DEFAULT_WINDOW_SECONDS);
    expect(read('?step=a')).toBeNull();
    expect(read('')).toBeNull();
    expect(read(`?${Array.from({ length: 12 }, (_, i) => `step=s${i}`).join('&')}`)?.steps).toHaveLength(10);
  });

  it('lives in the view beside the filters, and in the funnel request without the action filter', () => {
    const view = viewFromUrl('?role=ADMIN&action=click&step=page_view&step=click&unit=sessions');
    expect(viewToSearch(view)).toBe('?role=ADMIN&action=click&step=page_view&step=click&unit=sessions');
    expect(funnelBody(view, 'Asia/Kolkata')).toEqual({
      steps: [{ actions: ['page_view'] }, { actions: ['click'] }],
      order: 'sequential',
      windowSeconds: DEFAULT_WINDOW_SECONDS,
      unit: 'sessions',
      entry: 'first',
      role: 'ADMIN',
      tz: 'Asia/Kolkata',
    });
    expect(funnelBody(viewFromUrl('?role=ADMIN'), 'UTC')).toBeNull();
  });
});

describe('the window', () => {
  it('shows in the largest unit that holds it whole', () => {
    expect(splitWindow(14 * 86_400)).toEqual({ amount: 14, unit: 'days' });
    expect(splitWindow(7200)).toEqual({ amount: 2, unit: 'hours' });
    expect(splitWindow(5400)).toEqual({ amount: 90, unit: 'minutes' });
    expect(splitWindow(45)).toEqual({ amount: 45, unit: 'seconds' });
    expect(describeWindow(60)).toBe('1 minute');
    expect(describeWindow(86_400 * 3)).toBe('3 days');
  });
});

describe('a definition', () => {
  it('says what is missing before it is sent', () => {
    const steps = [{ actions: ['a'] }, { actions: ['b'] }];
    expect(definitionProblem(normalizeFunnel({ steps }))).toBeNull();
    expect(definitionProblem(normalizeFunnel({ steps: [steps[0]!] }))).toBe(
      'A funnel needs at least 2 steps.',
    );
    expect(definitionProblem(normalizeFunnel({ steps: [steps[0]!, { actions: [] }] }))).toBe(
      'Step 2 needs an action.',
    );
    for (const windowSeconds of [0, 1.5, Number.NaN, 90 * 86_400 + 1])
      expect(definitionProblem(normalizeFunnel({ steps, windowSeconds })), String(windowSeconds)).toBe(
        'The window must be a whole number from 1 second to 90 days.',
      );
    expect(definitionProblem(normalizeFunnel({ steps, windowSeconds: 1 }))).toBeNull();
  });

  it('compares as the API stores it (actions lower-cased, roles upper-cased, defaults filled in)', () => {
    const typed = normalizeFunnel({
      steps: [{ actions: ['Page_View'], role: 'guest' }, { actions: ['click'] }],
    });
    const stored = {
      steps: [{ actions: ['page_view'], role: 'GUEST' }, { actions: ['click'] }],
      order: 'sequential' as const,
      windowSeconds: DEFAULT_WINDOW_SECONDS,
      unit: 'users' as const,
      entry: 'first' as const,
    };
    expect(funnelKey(typed)).toBe(funnelKey(stored));
    expect(funnelKey(typed)).not.toBe(funnelKey({ ...stored, entry: 'best' }));
  });
});
