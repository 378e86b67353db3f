import { describe, expect, it } from 'vitest';
import { queryAllowList, scrubPage, scrubProperties, scrubUrl } from './url-privacy.js';

const utm = queryAllowList(['utm_*']);

describe('URL privacy', () => {
  it('keeps only allowed query parameters of a page, in their order and encoding', () => {
    expect(scrubPage('/reset?token=abc&utm_source=x', utm)).toBe('/reset?utm_source=x');
    expect(scrubPage('/a?utm_medium=e%20mail&email=a%40b.c&utm_campaign=q', utm)).toBe(
      '/a?utm_medium=e%20mail&utm_campaign=q',
    );
    expect(scrubPage('/reset?token=abc', utm)).toBe('/reset');
    expect(scrubPage('/plain', utm)).toBe('/plain');
    expect(scrubPage('/x?%ZZ=1&utm_term=y', utm)).toBe('/x?utm_term=y');
  });

  it('takes exact names, prefixes and * from the allow-list', () => {
    const keep = queryAllowList(['plan', 'utm_*']);
    expect(scrubPage('/p?plan=pro&planet=mars&utm_content=c', keep)).toBe('/p?plan=pro&utm_content=c');
    expect(scrubPage('/p?token=1&b=2', queryAllowList(['*']))).toBe('/p?token=1&b=2');
    expect(scrubPage('/p?utm_source=x', queryAllowList([]))).toBe('/p');
    expect(scrubPage('/p?utm_source=x&none=1', queryAllowList(['none']))).toBe('/p');
  });

  it('drops the fragment and disallowed parameters of a referrer, and a hash property', () => {
    expect(scrubUrl('https://app.example/cb?code=s3cret&utm_source=m#access_token=t', utm)).toBe(
      'https://app.example/cb?utm_source=m',
    );
    expect(scrubUrl('not a url', utm)).toBe('not a url');
    expect(
      scrubProperties(
        { referrer: 'https://a.example/reset?token=1#x', hash: '#access_token=t', plan: 'pro', title: 'T' },
        utm,
      ),
    ).toEqual({ referrer: 'https://a.example/reset', plan: 'pro', title: 'T' });
    const clean = { referrer: 'https://a.example/', hash: 'c0ffee' };
    expect(scrubProperties(clean, utm)).toBe(clean); // a site's own `hash` that is no fragment stays
  });
});
