/**
 * A systematic corpus of bad requests against ingest and query: every one must be answered 4xx in
 * the common error shape and change nothing. Generated as the cross product of fields/filters and
 * kinds of badness, so a new field or route only needs a line here.
 */

export interface BadRequest {
  service: 'ingest' | 'query';
  /** What is wrong, for the failure message. */
  label: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** A valid event: each bad request breaks exactly one thing of it. */
export const VALID_EVENT = { userId: 'corpus-user', action: 'click', page: '/corpus' } as const;
const VALID_IDENTIFY = { userId: 'corpus-user', role: 'user' } as const;

/** Injection strings that are not valid where the corpus puts them (action, role, dates, ids, enums). */
export const INJECTIONS = [
  "'; DROP TABLE interactions;--",
  "' OR '1'='1",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an injection string, not a template
  '${7*7}{{7*7}}',
] as const;

const WRONG_TYPES: [string, unknown][] = [
  ['a number', 42],
  ['a boolean', true],
  ['null', null],
  ['an array', ['x']],
  ['an object', { x: 'y' }],
];

const BAD_DATES = [
  'yesterday',
  '2026-13-01T00:00:00Z',
  '2026-02-30T10:00:00Z',
  '2026-03-01',
  '2026-03-01T10:00:00',
  '+012026-03-01T00:00:00Z',
  '',
];

/** Strings too long for each limited field (LIMITS in packages/schemas, plus one). */
const TOO_LONG: Record<string, string> = {
  userId: 'u'.repeat(129),
  action: 'a'.repeat(65),
  page: `/${'p'.repeat(2048)}`,
  sessionId: 's'.repeat(129),
  userAgent: 'A'.repeat(513),
};

const EVENT_FIELDS = [
  'eventId',
  'userId',
  'role',
  'action',
  'page',
  'timestamp',
  'sentAt',
  'sessionId',
  'properties',
  'userAgent',
] as const;

function json(
  service: BadRequest['service'],
  label: string,
  path: string,
  body: unknown,
  method = 'POST',
): BadRequest {
  return { service, label, method, path, headers: JSON_TYPE, body: JSON.stringify(body) };
}

/** Raw JSON text with `bytes` (not UTF-8) spliced into the `field` string value. */
function withBytes(object: Record<string, unknown>, field: string, bytes: number[]): Buffer {
  const marker = '\u0001MARK\u0001';
  const text = JSON.stringify({ ...object, [field]: `x${marker}y` });
  const [head, tail] = text.split(JSON.stringify(marker).slice(1, -1));
  return Buffer.concat([Buffer.from(head!), Buffer.from(bytes), Buffer.from(tail!)]);
}

function ingestCorpus(): BadRequest[] {
  const out: BadRequest[] = [];
  const event = (label: string, body: unknown) =>
    out.push(json('ingest', `events: ${label}`, '/v1/events', body));
  const batch = (label: string, body: unknown) =>
    out.push(json('ingest', `batch: ${label}`, '/v1/batch', body));
  const both = (label: string, item: unknown) => {
    event(label, item);
    batch(label, { events: [item] });
  };

  // Wrong types, field by field.
  for (const field of EVENT_FIELDS)
    for (const [kind, value] of WRONG_TYPES) {
      if (field === 'properties' && kind === 'an object') continue; // an object is the right type
      both(`${field} is ${kind}`, { ...VALID_EVENT, [field]: value });
    }
  for (const field of ['userId', 'role', 'traits', 'timestamp'])
    for (const [kind, value] of WRONG_TYPES) {
      if (field === 'traits' && kind === 'an object') continue;
      out.push(
        json('ingest', `identify: ${field} is ${kind}`, '/v1/identify', {
          ...VALID_IDENTIFY,
          [field]: value,
        }),
      );
    }
  // Missing required fields.
  for (const field of ['userId', 'action', 'page']) {
    const { [field as keyof typeof VALID_EVENT]: _, ...rest } = VALID_EVENT;
    both(`${field} missing`, rest);
  }
  both('empty object', {});
  out.push(json('ingest', 'identify: userId missing', '/v1/identify', { role: 'user' }));
  // Empty and oversized fields.
  for (const field of ['userId', 'action', 'page', 'sessionId'])
    both(`${field} empty`, { ...VALID_EVENT, [field]: '' });
  for (const [field, value] of Object.entries(TOO_LONG))
    both(`${field} too long`, { ...VALID_EVENT, [field]: value });
  both('property key too long', { ...VALID_EVENT, properties: { ['k'.repeat(129)]: 'v' } });
  both('property value too long', { ...VALID_EVENT, properties: { note: 'v'.repeat(1025) } });
  both('51 properties', {
    ...VALID_EVENT,
    properties: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])),
  });
  both('empty property key', { ...VALID_EVENT, properties: { '': 'v' } });
  // Nesting where values must be flat, and deep nesting.
  both('nested property', { ...VALID_EVENT, properties: { a: { b: 'c' } } });
  both('array property', { ...VALID_EVENT, properties: { a: [1, 2] } });
  const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  for (const depth of [64, 2000]) {
    out.push({
      service: 'ingest',
      label: `events: properties nested ${depth} deep`,
      method: 'POST',
      path: '/v1/events',
      headers: JSON_TYPE,
      body: `{"userId":"u","action":"click","page":"/","properties":${deep(depth)}}`,
    });
    out.push({
      service: 'ingest',
      label: `batch: events nested ${depth} deep`,
      method: 'POST',
      path: '/v1/batch',
      headers: JSON_TYPE,
      body: `{"events":${deepArray(depth)}}`,
    });
    out.push({
      service: 'ingest',
      label: `identify: traits nested ${depth} deep`,
      method: 'POST',
      path: '/v1/identify',
      headers: JSON_TYPE,
      body: `{"userId":"u","traits":${deep(depth)}}`,
    });
  }
  // Unknown fields and prototype pollution attempts.
  both('unknown field', { ...VALID_EVENT, isBot: false });
  both('server-set field receivedAt', { ...VALID_EVENT, receivedAt: 0 });
  for (const key of ['constructor', 'prototype'])
    both(`top-level "${key}" field`, { ...VALID_EVENT, [key]: 'x' });
  const raw = (route: string, label: string, body: string | Buffer) =>
    out.push({ service: 'ingest', label, method: 'POST', path: route, headers: JSON_TYPE, body });
  const proto = [
    ['__proto__ at the top', '{"userId":"u","action":"click","page":"/","__proto__":{"isBot":true}}'],
    [
      '__proto__ in properties',
      '{"userId":"u","action":"click","page":"/","properties":{"__proto__":{"x":1}}}',
    ],
    [
      '__proto__ string in properties',
      '{"userId":"u","action":"click","page":"/","properties":{"__proto__":"x"}}',
    ],
    [
      'constructor.prototype',
      '{"userId":"u","action":"click","page":"/","constructor":{"prototype":{"x":1}}}',
    ],
    [
      'constructor.prototype in properties',
      '{"userId":"u","action":"click","page":"/","properties":{"constructor":{"prototype":{"x":1}}}}',
    ],
  ] as const;
  for (const [label, body] of proto) {
    raw('/v1/events', `events: ${label}`, body);
    raw('/v1/batch', `batch: ${label}`, `{"events":[${body}]}`);
  }
  raw('/v1/batch', 'batch: __proto__ beside events', '{"events":[],"__proto__":{"x":1}}');
  raw('/v1/identify', 'identify: __proto__ in traits', '{"userId":"u","traits":{"__proto__":{"x":1}}}');
  // Injection strings where they are not valid.
  for (const injection of INJECTIONS) {
    for (const field of ['action', 'role', 'eventId', 'timestamp', 'sentAt']) {
      both(`${field} = ${injection}`, { ...VALID_EVENT, [field]: injection });
    }
    both(`page = ${injection} (not a path or URL)`, { ...VALID_EVENT, page: injection.replace(/^\//, '') });
    out.push(
      json('ingest', `identify: role = ${injection}`, '/v1/identify', { ...VALID_IDENTIFY, role: injection }),
    );
  }
  both('page javascript: URL', { ...VALID_EVENT, page: 'javascript:alert(1)' });
  both('page data: URL', { ...VALID_EVENT, page: 'data:text/html,<script>alert(1)</script>' });
  both('role not a role', { ...VALID_EVENT, role: 'superuser' });
  // Bad dates.
  for (const date of BAD_DATES) {
    both(`timestamp "${date}"`, { ...VALID_EVENT, timestamp: date });
    out.push(
      json('ingest', `identify: timestamp "${date}"`, '/v1/identify', { ...VALID_IDENTIFY, timestamp: date }),
    );
  }
  both('timestamp a day in the future', {
    ...VALID_EVENT,
    timestamp: new Date(Date.now() + 2 * 86_400_000).toISOString(),
  });
  both('timestamp year 9999', { ...VALID_EVENT, timestamp: '9999-12-31T23:59:59Z' });
  // Bytes that are not UTF-8, field by field.
  for (const field of ['userId', 'action', 'page', 'sessionId', 'userAgent']) {
    for (const [kind, bytes] of [
      ['0xff', [0xff]],
      ['overlong /', [0xc0, 0xaf]],
      ['CESU surrogate', [0xed, 0xa0, 0x80]],
    ] as const) {
      const body = withBytes({ ...VALID_EVENT }, field, [...bytes]);
      raw('/v1/events', `events: ${field} with ${kind} bytes`, body);
      out.push({
        service: 'ingest',
        label: `batch: ${field} with ${kind} bytes`,
        method: 'POST',
        path: '/v1/batch',
        headers: JSON_TYPE,
        body: Buffer.concat([Buffer.from('{"events":['), body, Buffer.from(']}')]),
      });
    }
    raw(
      '/v1/events',
      `events: ${field} with an escaped lone surrogate`,
      JSON.stringify({ ...VALID_EVENT, [field]: 'x' }).replace('"x"', '"x\\ud800"'),
    );
  }
  out.push({
    service: 'ingest',
    label: 'beacon: 0xff bytes',
    method: 'POST',
    path: '/v1/beacon',
    headers: { 'content-type': 'text/plain' },
    body: Buffer.concat([
      Buffer.from('{"events":['),
      withBytes({ ...VALID_EVENT }, 'userId', [0xff]),
      Buffer.from(']}'),
    ]),
  });
  out.push({
    service: 'ingest',
    label: 'identify: userId with 0xfe bytes',
    method: 'POST',
    path: '/v1/identify',
    headers: JSON_TYPE,
    body: withBytes({ ...VALID_IDENTIFY }, 'userId', [0xfe]),
  });
  // Not JSON, empty, oversized.
  for (const [label, body] of [
    ['empty body', ''],
    ['truncated JSON', '{"userId":"u","action":'],
    ['trailing comma', '{"userId":"u","action":"click","page":"/",}'],
    ['single quotes', "{'userId':'u','action':'click','page':'/'}"],
    ['NaN literal', '{"userId":"u","action":"click","page":"/","properties":{"n":NaN}}'],
    ['a JSON string', '"hello"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
    ['two documents', '{"userId":"u"}{"userId":"v"}'],
  ] as const) {
    raw('/v1/events', `events: ${label}`, body);
    raw('/v1/batch', `batch: ${label}`, body);
    raw('/v1/identify', `identify: ${label}`, body);
  }
  event('an array instead of one event', [VALID_EVENT]);
  batch('events is not an array', { events: VALID_EVENT });
  batch('an array instead of {events}', [VALID_EVENT]);
  batch('no events', { events: [] });
  batch('1001 events', { events: Array.from({ length: 1001 }, () => VALID_EVENT) });
  batch('every item invalid', { events: [{ ...VALID_EVENT, action: 'no spaces' }, { userId: 'u' }] });
  event('event over 32 KB', {
    ...VALID_EVENT,
    properties: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(1000)])),
  });
  raw(
    '/v1/batch',
    'batch: body over 1 MB',
    JSON.stringify({ events: [{ ...VALID_EVENT, properties: { a: 'x'.repeat(1_100_000) } }] }),
  );
  // Wrong content types.
  for (const route of ['/v1/events', '/v1/batch', '/v1/identify']) {
    for (const type of [
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/csv',
      'application/octet-stream',
    ]) {
      out.push({
        service: 'ingest',
        label: `${route} as ${type}`,
        method: 'POST',
        path: route,
        headers: { 'content-type': type },
        body: JSON.stringify(route === '/v1/batch' ? { events: [VALID_EVENT] } : VALID_EVENT),
      });
    }
    out.push({
      service: 'ingest',
      label: `${route} without a content type`,
      method: 'POST',
      path: route,
      body: Buffer.from(JSON.stringify(VALID_EVENT)),
    });
  }
  out.push({
    service: 'ingest',
    label: 'beacon as application/xml',
    method: 'POST',
    path: '/v1/beacon',
    headers: { 'content-type': 'application/xml' },
    body: '<events/>',
  });
  out.push({
    service: 'ingest',
    label: 'import as application/pdf',
    method: 'POST',
    path: '/v1/import',
    headers: { 'content-type': 'application/pdf' },
    body: '%PDF-1.4',
  });
  // Imports with nothing valid.
  const importOf = (label: string, type: string, body: string | Buffer, query = '') =>
    out.push({
      service: 'ingest',
      label: `import: ${label}`,
      method: 'POST',
      path: `/v1/import${query}`,
      headers: { 'content-type': type },
      body,
    });
  importOf('empty NDJSON', 'application/x-ndjson', '');
  importOf(
    'NDJSON, every line invalid',
    'application/x-ndjson',
    `${JSON.stringify({ userId: 'u' })}\n${JSON.stringify({ ...VALID_EVENT, role: "' OR 1=1" })}\n`,
  );
  importOf(
    'NDJSON with 0xff bytes',
    'application/x-ndjson',
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('\n')]),
  );
  importOf('CSV with an unknown column', 'text/csv', 'userId,action,page,drop_table\nu,click,/,x\n');
  importOf('CSV without a required column', 'text/csv', 'userId,page\nu,/\n');
  importOf('CSV, every row invalid', 'text/csv', "userId,action,page\nu,'; DROP TABLE x;--,/\n");
  importOf('JSON array broken at once', 'application/json', '[{"userId":');
  importOf(
    '__proto__ line',
    'application/x-ndjson',
    '{"userId":"u","action":"click","page":"/","__proto__":{"x":1}}\n',
  );
  importOf('unknown format', 'application/x-ndjson', `${JSON.stringify(VALID_EVENT)}\n`, '?format=xml');
  importOf(
    'over INGEST_IMPORT_MAX_BYTES',
    'application/x-ndjson',
    `${JSON.stringify(VALID_EVENT)}\n`.repeat(2000),
  );
  // Wrong methods.
  for (const route of ['/v1/events', '/v1/batch', '/v1/identify', '/v1/beacon', '/v1/import'])
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'])
      out.push({ service: 'ingest', label: `${method} ${route}`, method, path: route });
  out.push({
    service: 'ingest',
    label: 'POST /v1/tracker.js',
    method: 'POST',
    path: '/v1/tracker.js',
    headers: JSON_TYPE,
    body: '{}',
  });
  out.push({
    service: 'ingest',
    label: 'unknown route',
    method: 'POST',
    path: '/v1/events/../../etc/passwd',
    headers: JSON_TYPE,
    body: '{}',
  });
  out.push({
    service: 'ingest',
    label: 'URL that is not UTF-8',
    method: 'POST',
    path: '/v1/%ff',
    headers: JSON_TYPE,
    body: '{}',
  });
  return out;
}

const FILTER_ROUTES = ['/api/interactions', '/api/stats', '/api/export', '/api/stream'] as const;
const QUERY_ROUTES = [...FILTER_ROUTES, '/api/facets', '/api/dlq'] as const;

function queryCorpus(): BadRequest[] {
  const out: BadRequest[] = [];
  const get = (path: string, params: Record<string, string> | string, label?: string) => {
    const query = typeof params === 'string' ? params : new URLSearchParams(params).toString();
    out.push({
      service: 'query',
      label: label ?? `${path}?${query.slice(0, 80)}`,
      method: 'GET',
      path: `${path}?${query}`,
    });
  };
  const wrongMethod = (route: string, method: string) =>
    out.push({
      service: 'query',
      label: `${method} ${route}`,
      method,
      path: route,
      headers: JSON_TYPE,
      body: '{}',
    });
  for (const route of FILTER_ROUTES) {
    for (const injection of INJECTIONS) {
      for (const filter of ['role', 'action', 'from', 'to']) get(route, { [filter]: injection });
    }
    for (const date of BAD_DATES) {
      get(route, { from: date });
      get(route, { to: date });
    }
    get(route, { from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }, `${route}: to before from`);
    get(route, { userId: 'u'.repeat(129) });
    get(route, { userId: '' });
    get(route, { page: `/${'p'.repeat(2048)}` });
    get(route, { role: 'superuser' });
    get(route, { unknown: '1' });
    get(route, '__proto__=1', `${route}?__proto__`);
    get(route, '__proto__[polluted]=1', `${route}?__proto__[polluted]`);
    get(route, 'constructor[prototype][polluted]=1', `${route}?constructor[prototype]`);
    get(route, 'prototype=1', `${route}?prototype`);
    get(route, 'userId=%ff%fe', `${route}: userId not UTF-8`);
    get(route, 'page=%c0%af', `${route}: page overlong UTF-8`);
    get(route, 'userId=a&userId=b', `${route}: userId twice`);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) wrongMethod(route, method);
  }
  // (`1e3` and `0x10` are numbers to the validator's coercion, so they are not in this list.)
  const LIMITS_BAD = ['0', '-1', '1.5', 'abc', '', 'NaN', 'Infinity', '99999999999999999999', '1000000000'];
  for (const route of ['/api/interactions', '/api/facets', '/api/dlq', '/api/export'])
    for (const limit of LIMITS_BAD) get(route, { limit });
  for (const top of ['0', '101', '-5', 'ten', '1e9']) get('/api/stats', { top });
  for (const tz of ['Mars/Olympus', "UTC'; DROP TABLE x;--", '<script>', '+25:00', '../../etc/passwd']) {
    get('/api/stats', { tz });
    get('/api/stream', { tz });
  }
  for (const format of ['xml', 'CSV;', "csv' OR 1=1", '']) get('/api/export', { format });
  for (const bom of ['yes', '2']) get('/api/export', { bom });
  for (const facet of ['__proto__', 'constructor', 'secrets', "users' OR 1=1"]) get('/api/facets', { facet });
  get('/api/facets', { q: 'q'.repeat(257) });
  get('/api/interactions', { key: 'not-here' }, '/api/interactions?key= (only stream/export take it)');
  for (const stats of ['maybe', '2']) get('/api/stream', { stats });
  for (const route of ['/api/facets', '/api/dlq'])
    for (const method of ['POST', 'PUT', 'DELETE']) wrongMethod(route, method);
  for (const route of QUERY_ROUTES) get(route, 'limit=%zz', `${route}: broken percent escape`);
  out.push({ service: 'query', label: 'URL that is not UTF-8', method: 'GET', path: '/api/%ff' });
  out.push({ service: 'query', label: 'unknown API route', method: 'GET', path: '/api/users' });
  return out;
}

/** Cursors no API answer issued. */
export function forgedCursors(): string[] {
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  return [
    'AAAA',
    'not a cursor',
    b64('{"v":1,"d":"n","t":0,"id":"x"}'),
    b64(JSON.stringify({ v: 99, occurredAt: 0, eventId: "' OR 1=1--" })),
    b64("'; DROP TABLE interactions;--"),
    b64('<script>alert(1)</script>'),
    'x'.repeat(4096),
    '%00',
    b64('\u0000\u0001\u0002'),
  ];
}

export function badRequests(): BadRequest[] {
  return [...ingestCorpus(), ...queryCorpus()];
}
