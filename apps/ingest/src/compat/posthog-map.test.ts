import { describe, expect, it } from 'vitest';
import { mapPostHogEvent, posthogEnvelope } from './posthog-map.js';

describe('posthogEnvelope', () => {
  it('reads every shape posthog-node and posthog-js send, and where the key is', () => {
    expect(posthogEnvelope({ api_key: 'k', batch: [{ event: 'a' }], sent_at: 's' })).toEqual({
      apiKey: 'k',
      events: [{ event: 'a' }],
      sentAt: 's',
      isBatch: true,
    });
    expect(posthogEnvelope([{ event: 'a', properties: { token: 't' } }])).toMatchObject({
      apiKey: 't',
      isBatch: true,
    });
    expect(posthogEnvelope({ event: 'a', token: 't2', sent_at: 's' })).toEqual({
      apiKey: 't2',
      events: [{ event: 'a', token: 't2' }],
      sentAt: 's',
      isBatch: false,
    });
    expect(posthogEnvelope({ event: 'a' }, { sent_at: '1764000000000' }).sentAt).toBe(1764000000000);
    expect(posthogEnvelope('x').events).toEqual([]);
  });
});

describe('mapPostHogEvent', () => {
  const get = (raw: object) => {
    const m = mapPostHogEvent(raw, { sentAt: undefined });
    if (!m.ok) throw new Error(JSON.stringify(m.errors));
    return m.event;
  };

  it('maps $identify with $set (top level as posthog-js, or in properties as posthog-node) and the anonymous link', () => {
    expect(
      get({
        event: '$identify',
        distinct_id: 'u',
        $set: { role: 'user', a: 1 },
        properties: { $anon_distinct_id: 'anon', token: 'k' },
      }),
    ).toMatchObject({
      kind: 'identify',
      role: 'user',
      own: { anonymousId: 'anon' },
      sources: [{ value: { role: 'user', a: 1 } }, { value: {} }, { value: {} }, { value: {} }],
    });
    const inProperties = get({ event: '$identify', distinct_id: 'u', properties: { $set: { b: 2 } } });
    expect(inProperties.kind).toBe('identify');
    expect(inProperties.sources[0]).toEqual({ prefix: '', value: { b: 2 } });
    expect(get({ event: '$set', distinct_id: 'u', properties: { $set: { c: 3 } } }).kind).toBe('identify');
  });

  it('maps $pageview, $screen, $create_alias, $groupidentify and named events; keeps the token out', () => {
    const page = get({
      event: '$pageview',
      properties: {
        distinct_id: 'u',
        $current_url: 'https://a.example/x',
        $pathname: '/x',
        $session_id: 's',
        $raw_user_agent: 'UA',
        token: 'k',
        plan: 'p',
        $os: 'Linux',
      },
    });
    expect(page).toMatchObject({
      action: 'page_view',
      userId: 'u',
      sessionId: 's',
      userAgent: 'UA',
      pages: ['https://a.example/x', '/x'],
    });
    expect(page.sources).toEqual([
      { prefix: '', value: { plan: 'p' } },
      { prefix: '', value: { $current_url: 'https://a.example/x', $pathname: '/x', $os: 'Linux' } },
    ]);
    expect(get({ event: '$screen', distinct_id: 'u', properties: { $screen_name: 'Home' } })).toMatchObject({
      action: 'screen_view',
      own: { name: 'Home' },
    });
    expect(get({ event: '$create_alias', distinct_id: 'u', properties: { alias: 'old' } })).toMatchObject({
      action: 'alias',
      own: { previousId: 'old' },
    });
    expect(
      get({
        event: '$groupidentify',
        distinct_id: 'u',
        properties: { $group_type: 'company', $group_key: 'acme', $group_set: { size: 5 } },
      }),
    ).toMatchObject({
      action: 'group',
      own: { groupType: 'company', groupId: 'acme' },
      sources: [{ prefix: 'traits.', value: { size: 5 } }, { value: {} }, { value: {} }],
    });
    expect(get({ event: '$autocapture', distinct_id: 'u' })).toMatchObject({
      action: 'autocapture',
      own: { event: '$autocapture' },
    });
  });

  it('dates an event by offset when it has no timestamp (older posthog-js)', () => {
    const m = mapPostHogEvent(
      { event: 'x', distinct_id: 'u', offset: 1500 },
      { sentAt: '2026-01-01T00:00:10.000Z' },
    );
    expect(m.ok && m.event.timestamp).toBe('2026-01-01T00:00:08.500Z');
  });

  it('refuses an event without name or distinct_id', () => {
    expect(mapPostHogEvent({ distinct_id: 'u' }, {})).toMatchObject({
      ok: false,
      errors: [{ path: 'event' }],
    });
    expect(mapPostHogEvent({ event: 'x' }, {})).toMatchObject({
      ok: false,
      errors: [{ path: 'distinct_id' }],
    });
  });
});
