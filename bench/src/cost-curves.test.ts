import { describe, expect, it } from 'vitest';
import type { BenchRow } from './bench-report.js';
import { costCurves, parseRows, renderCostCurves } from './cost-curves.js';

const row = (
  name: string,
  value: number,
  parameters: Record<string, unknown>,
  at: string,
  p95?: number,
): BenchRow => ({
  name,
  value,
  unit: name === 'pipeline_scale' ? 'events/s' : 'ms',
  baseline: null,
  ratio: null,
  better: name === 'pipeline_scale' ? 'higher' : 'lower',
  parameters,
  ...(p95 === undefined ? {} : { p95 }),
  loadavg: [1, 1, 1],
  at,
});

describe('costCurves', () => {
  const rows = [
    row('stats_query', 30, { filter: 'none', rows: 5_000_000 }, '2026-12-07T08:00:00Z', 30),
    row('stats_query', 9, { filter: 'none', rows: 1_000_000 }, '2026-12-07T07:00:00Z', 9),
    row('stats_query', 11, { filter: 'none', rows: 1_000_000 }, '2026-12-07T09:00:00Z', 11),
    row('stats_query', 40, { filter: 'userId', rows: 1_000_000 }, '2026-12-07T07:00:00Z', 40),
    row('stats_query', 15, { filter: 'role', rows: 1_000_000 }, '2026-12-07T07:00:00Z', 15),
    row('pipeline_scale', 22_000, { instances: 2 }, '2026-12-07T07:00:00Z'),
    row('pipeline_scale', 19_000, { instances: 1 }, '2026-12-07T07:00:00Z'),
    row('memory', 300, { service: 'query' }, '2026-12-07T07:00:00Z'),
  ];

  it('keeps the curve variants sorted by size, the later of two measurements of a size', () => {
    const c = costCurves(rows);
    expect(c.stats.map((s) => s.filter)).toEqual(['none', 'role', 'last30DaysNewYork']);
    expect(c.stats[0]!.points.map((p) => [p.rows, p.p95])).toEqual([
      [1_000_000, 11],
      [5_000_000, 30],
    ]);
    expect(c.stats[1]!.points.map((p) => p.p95)).toEqual([15]);
    expect(c.stats[2]!.points).toEqual([]);
    expect(c.pipeline.map((p) => [p.instances, p.eventsPerSecond])).toEqual([
      [1, 19_000],
      [2, 22_000],
    ]);
  });

  it('reads rows from JSON lines among log lines, and draws a PNG', async () => {
    const text = ['[bench] starting', ...rows.map((r) => JSON.stringify(r)), 'done'].join('\n');
    expect(parseRows(text)).toHaveLength(rows.length);
    const png = await renderCostCurves(costCurves(rows), 'test');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
});
