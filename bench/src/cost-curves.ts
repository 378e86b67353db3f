/**
 * bench/results/cost-curves.{json,png}: how cost grows with work. Reads bench rows (JSON lines, as
 * `./tracker bench --no-save` prints them) from runs at several sizes and keeps two curves: /api/stats
 * p95 against stored rows (unfiltered, one filter, a 30-day range) and pipeline_scale events/s against
 * processor instances. Usage: `node bench/dist/cost-curves.js <rows.jsonl>...` (bench/README.md).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChartConfiguration } from 'chart.js';
import { draw, titledCanvas } from './bench-chart.js';
import type { BenchRow } from './bench-report.js';

/** The stats_query variants on the curve, and their labels. */
export const CURVE_FILTERS: Readonly<Record<string, string>> = {
  none: 'unfiltered',
  role: 'one filter (role)',
  last30DaysNewYork: '30-day range (New York)',
};

export interface CostCurves {
  stats: { filter: string; label: string; points: { rows: number; p95: number; at: string }[] }[];
  pipeline: { instances: number; eventsPerSecond: number; at: string }[];
}

/** The curves in `rows`; for a size (or instance count) measured twice, the later row counts. */
export function costCurves(rows: BenchRow[]): CostCurves {
  const later = <T extends { at: string }>(a: T, b: T): T => (b.at > a.at ? b : a);
  const stats = Object.entries(CURVE_FILTERS).map(([filter, label]) => {
    const bySize = new Map<number, { rows: number; p95: number; at: string }>();
    for (const r of rows) {
      if (r.name !== 'stats_query' || r.parameters.filter !== filter) continue;
      const point = { rows: Number(r.parameters.rows), p95: r.p95 ?? r.value, at: r.at };
      const seen = bySize.get(point.rows);
      bySize.set(point.rows, seen ? later(seen, point) : point);
    }
    return { filter, label, points: [...bySize.values()].sort((a, b) => a.rows - b.rows) };
  });
  const byInstances = new Map<number, { instances: number; eventsPerSecond: number; at: string }>();
  for (const r of rows) {
    if (r.name !== 'pipeline_scale') continue;
    const point = { instances: Number(r.parameters.instances), eventsPerSecond: r.value, at: r.at };
    const seen = byInstances.get(point.instances);
    byInstances.set(point.instances, seen ? later(seen, point) : point);
  }
  return { stats, pipeline: [...byInstances.values()].sort((a, b) => a.instances - b.instances) };
}

/** Bench rows from JSON lines (other lines, e.g. log output, are skipped). */
export function parseRows(text: string): BenchRow[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as BenchRow)
    .filter((r) => typeof r.name === 'string' && typeof r.value === 'number');
}

const COLOURS = ['#4a78c2', '#2e9e4f', '#d2453b'];

/** Both curves side by side, as PNG bytes. */
export async function renderCostCurves(c: CostCurves, subtitle: string): Promise<Buffer> {
  const statsChart = draw(800, 420, {
    type: 'line',
    data: {
      datasets: c.stats.map((s, i) => ({
        label: s.label,
        data: s.points.map((p) => ({ x: p.rows / 1e6, y: p.p95 })),
        borderColor: COLOURS[i % COLOURS.length],
        backgroundColor: COLOURS[i % COLOURS.length],
      })),
    },
    options: {
      plugins: {
        title: { display: true, text: '/api/stats p95 against stored interactions', font: { size: 16 } },
      },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'million interactions stored' } },
        y: { beginAtZero: true, title: { display: true, text: 'p95 ms' } },
      },
    },
  } as ChartConfiguration);
  const pipelineChart = draw(800, 420, {
    type: 'line',
    data: {
      datasets: [
        {
          label: 'events/s stored (12 partitions, one consumer group)',
          data: c.pipeline.map((p) => ({ x: p.instances, y: p.eventsPerSecond })),
          borderColor: COLOURS[0],
          backgroundColor: COLOURS[0],
        },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: 'Processor throughput against instances', font: { size: 16 } },
      },
      scales: {
        x: { type: 'linear', ticks: { stepSize: 1 }, title: { display: true, text: 'processor instances' } },
        y: { beginAtZero: true, title: { display: true, text: 'events/s' } },
      },
    },
  } as ChartConfiguration);
  const { canvas, ctx } = titledCanvas(1640, 500, 'Interaction tracker: cost curves', subtitle);
  ctx.drawImage(statsChart, 20, 70);
  ctx.drawImage(pipelineChart, 830, 70);
  return canvas.encode('png');
}

async function main(files: string[]): Promise<void> {
  if (files.length === 0) throw new Error('usage: node bench/dist/cost-curves.js <rows.jsonl>...');
  const rows = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).flatMap(parseRows);
  const curves = costCurves(rows);
  const results = new URL('../results/', import.meta.url).pathname;
  await writeFile(join(results, 'cost-curves.json'), `${JSON.stringify(curves, null, 2)}\n`);
  const dates = rows.map((r) => r.at).sort();
  const when = (iso: string | undefined) => iso?.slice(0, 16).replace('T', ' ');
  const subtitle = `measured ${when(dates[0])} – ${when(dates.at(-1))} UTC on 2 shared cores`;
  await writeFile(join(results, 'cost-curves.png'), await renderCostCurves(curves, subtitle));
  console.log(`wrote ${join(results, 'cost-curves.json')} and cost-curves.png`);
}

if (process.argv[1]?.endsWith('cost-curves.js')) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
