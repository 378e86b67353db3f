import { describe, expect, it } from 'vitest';
import { actionFromName, pickPage } from './compat-event.js';
import { isSegmentBatch, isSegmentMessage, mapSegmentMessage } from './segment-map.js';

describe('actionFromName', () => {
  it('puts event names in our action alphabet', () => {
    expect(actionFromName('Order Completed')).toBe('order_completed');
    expect(actionFromName('$autocapture')).toBe('autocapture');
    expect(actionFromName('checkout/step 2 ')).toBe('checkout_step_2');
    expect(actionFromName('購入')).toBe('event');
    expect(actionFromName('x'.repeat(100))).toHaveLength(64);
  });
});

describe('pickPage', () => {
  it('takes the first candidate our page rule reads, else /', () => {
    expect(pickPage([undefined, 'app://home', '/docs?a=1'])).toBe('/docs?a=1');
    expect(pickPage(['https://a.example/x'])).toBe('https://a.example/x');
    expect(pickPage([42, 'home'])).toBe('/');
  });
});

describe('mapSegmentMessage', () => {
  const context = {
    page: { path: '/p', search: '?q=1', url: 'https://s.example/p?q=1' },
    userAgent: 'UA',
    ip: '10.0.0.1',
    traits: { a: 1 },
  };

  it('maps identify: traits, the role trait, the anonymousId link, context without userAgent and ip', () => {
    const m = mapSegmentMessage(
      {
        type: 'identify',
        userId: 'u',
        anonymousId: 'a',
        traits: { role: 'admin', plan: 'x' },
        context,
        messageId: 'm-1',
      },
      undefined,
    );
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.event).toMatchObject({
      kind: 'identify',
      userId: 'u',
      role: 'admin',
      own: { anonymousId: 'a' },
      userAgent: 'UA',
    });
    const context_ = m.event.sources.find((s) => s.prefix === 'context.')!.value as Record<string, unknown>;
    expect(Object.keys(context_).sort()).toEqual(['page']);
  });

  it('maps track, page, screen, group and alias to their actions and own properties', () => {
    const get = (msg: object, type?: 'page') => {
      const m = mapSegmentMessage(msg, type);
      if (!m.ok) throw new Error(JSON.stringify(m.errors));
      return m.event;
    };
    expect(get({ type: 'track', anonymousId: 'a', event: 'Order Completed' })).toMatchObject({
      action: 'order_completed',
      userId: 'a',
      own: { event: 'Order Completed' },
    });
    expect(get({ type: 'track', userId: 'u', event: 'signup' }).own).toEqual({});
    expect(get({ userId: 'u', name: 'Home', context }, 'page')).toMatchObject({
      action: 'page_view',
      own: { name: 'Home' },
      pages: ['https://s.example/p?q=1', '/p?q=1', undefined, undefined],
    });
    expect(get({ type: 'screen', userId: 'u', name: 'Cart' })).toMatchObject({
      action: 'screen_view',
      own: { name: 'Cart' },
    });
    expect(get({ type: 'group', userId: 'u', groupId: 'g1', traits: { size: 3 } })).toMatchObject({
      action: 'group',
      own: { groupId: 'g1' },
      sources: [{ prefix: 'traits.', value: { size: 3 } }, { prefix: 'context.' }],
    });
    expect(get({ type: 'alias', userId: 'u', previousId: 'a' })).toMatchObject({
      action: 'alias',
      own: { previousId: 'a' },
    });
    expect(get({ type: 'track', userId: 7, event: 'x', originalTimestamp: 't', sentAt: 's' })).toMatchObject({
      userId: 7,
      timestamp: 't',
      sentAt: 's',
    });
  });

  it('refuses what it cannot read, naming the field', () => {
    expect(mapSegmentMessage({ type: 'track', event: 'x' }, undefined)).toEqual({
      ok: false,
      errors: [{ path: 'userId', message: 'is required (userId or anonymousId)' }],
    });
    expect(mapSegmentMessage({ type: 'bogus', userId: 'u' }, undefined).ok).toBe(false);
    expect(mapSegmentMessage('x', undefined).ok).toBe(false);
    expect(mapSegmentMessage({ type: 'alias', userId: 'u' }, undefined)).toMatchObject({
      ok: false,
      errors: [{ path: 'previousId' }],
    });
  });

  it('tells Segment bodies from ours on the shared paths', () => {
    expect(isSegmentBatch({ batch: [] })).toBe(true);
    expect(isSegmentBatch({ events: [] })).toBe(false);
    expect(isSegmentMessage({ userId: 'u', traits: {} })).toBe(false);
    expect(isSegmentMessage({ userId: 'u', messageId: 'm' })).toBe(true);
    expect(isSegmentMessage({ anonymousId: 'a' })).toBe(true);
  });
});
