/**
 * bench/results/latest.png: the results as one picture (Chart.js drawn on @napi-rs/canvas, a Skia
 * canvas shipped as a prebuilt npm package: no browser, nothing downloaded at run time).
 * Left: throughput as a ratio of its baseline, with the goal. Right: latency in ms (log scale) against
 * the goals, the naive baseline beside each stats figure. Bottom: peak memory per service.
 */
import { type Canvas, createCanvas } from '@napi-rs/canvas';
import { Chart, type ChartConfiguration, type Plugin, registerables } from 'chart.js';
import type { BenchRow } from './bench-report.js';

Chart.register(...registerables);
Chart.defaults.font.family = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
Chart.defaults.font.size = 13;
Chart.defaults.color = '#333';

const GREEN = '#2e9e4f';
const RED = '#d2453b';
const GREY = '#9aa3ad';
const GOAL = '#1f3a93';

/** Prints each bar's value above it. */
const valueLabels = (format: (v: number) => string): Plugin<'bar'> => ({
  id: 'valueLabels',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.font = '12px DejaVu Sans, sans-serif';
    ctx.fillStyle = '#222';
    ctx.textAlign = 'center';
    chart.data.datasets.forEach((ds, i) => {
      if ((ds as { type?: string }).type === 'line') return;
      const meta = chart.getDatasetMeta(i);
      meta.data.forEach((bar, j) => {
        const v = ds.data[j];
        if (typeof v !== 'number' || !Number.isFinite(v)) return;
        ctx.fillText(format(v), bar.x, bar.y - 6);
      });
    });
    ctx.restore();
  },
});

/** White background (PNG is transparent otherwise). */
const background: Plugin = {
  id: 'background',
  beforeDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

export function draw(width: number, height: number, config: ChartConfiguration): Canvas {
  const canvas = createCanvas(width, height);
  const chart = new Chart(
    canvas.getContext('2d') as unknown as ConstructorParameters<typeof Chart>[0],
    {
      ...config,
      options: { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 },
      plugins: [background, ...(config.plugins ?? [])],
    } as ChartConfiguration,
  );
  // NOTE: no chart.destroy(): it clears the canvas we are about to copy.
  chart.draw();
  return canvas;
}

const fmt = (v: number, digits = 2) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(digits));

function ratioChart(rows: BenchRow[]): Canvas {
  const picked = ['ingest_single', 'ingest_batch', 'pipeline']
    .map((name) => rows.find((r) => r.name === name))
    .filter((r): r is BenchRow => r !== undefined);
  const labels = picked.map((r) => [
    r.name,
    `${fmt(r.value, 0)} vs ${fmt(r.baseline ?? Number.NaN, 0)} ${r.unit}`,
  ]);
  return draw(640, 420, {
    type: 'bar',
    data: {
      labels,
      datasets: [
        {
          type: 'bar',
          label: 'ratio to baseline (ours / baseline)',
          data: picked.map((r) => r.ratio ?? 0),
          backgroundColor: picked.map((r) => (r.pass ? GREEN : RED)),
        },
        {
          type: 'line',
          label: 'goal (at least)',
          order: -1,
          data: picked.map((r) => r.goal?.target ?? null),
          showLine: false,
          pointStyle: 'line',
          pointRadius: 40,
          pointBorderWidth: 3,
          borderColor: GOAL,
          backgroundColor: GOAL,
        },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: 'Throughput as a share of its baseline', font: { size: 16 } },
      },
      scales: { y: { beginAtZero: true, suggestedMax: 1.1, title: { display: true, text: 'ratio' } } },
    },
    plugins: [valueLabels((v) => v.toFixed(2))],
  } as ChartConfiguration);
}

function latencyChart(rows: BenchRow[]): Canvas {
  const items: { label: string[]; ours: number; naive: number | null; goal: number | null; pass: boolean }[] =
    [];
  const e2e = rows.find((r) => r.name === 'e2e_latency');
  if (e2e) {
    items.push({ label: ['e2e p50'], ours: e2e.p50 ?? Number.NaN, naive: null, goal: null, pass: true });
    items.push({
      label: ['e2e p99'],
      ours: e2e.p99 ?? Number.NaN,
      naive: null,
      goal: e2e.goal?.target ?? null,
      pass: e2e.pass ?? false,
    });
  }
  for (const r of rows.filter((x) => x.name === 'stats_query')) {
    items.push({
      label: ['stats p95', String(r.parameters.filter)],
      ours: r.p95 ?? r.value,
      naive: r.baseline,
      goal: r.goal?.target ?? null,
      pass: r.pass ?? false,
    });
  }
  return draw(1000, 420, {
    type: 'bar',
    data: {
      labels: items.map((i) => i.label),
      datasets: [
        {
          type: 'bar',
          label: 'ours (ms)',
          data: items.map((i) => i.ours),
          backgroundColor: items.map((i) => (i.pass ? GREEN : RED)),
        },
        {
          type: 'bar',
          label: 'naive baseline: GROUP BY over raw rows (ms)',
          data: items.map((i) => i.naive),
          backgroundColor: GREY,
        },
        {
          type: 'line',
          label: 'goal (at most)',
          order: -1,
          data: items.map((i) => i.goal),
          showLine: false,
          pointStyle: 'line',
          pointRadius: 22,
          pointBorderWidth: 3,
          borderColor: GOAL,
          backgroundColor: GOAL,
        },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: 'Latency: e2e (POST to visible) and /api/stats', font: { size: 16 } },
      },
      scales: {
        y: {
          type: 'logarithmic',
          title: { display: true, text: 'ms (log scale)' },
          // 1, 3, 10, 30, ... only: Chart.js also labels e.g. 7,000 just under 10,000, overprinting it.
          ticks: {
            callback: (v: number | string) =>
              /^[13]0*$/.test(String(v)) ? Number(v).toLocaleString('en-US') : '',
          },
        },
      },
    },
    plugins: [valueLabels((v) => fmt(v, 1))],
  } as ChartConfiguration);
}

function memoryChart(rows: BenchRow[]): Canvas {
  const mem = rows.filter((r) => r.name === 'memory');
  return draw(1640, 300, {
    type: 'bar',
    data: {
      labels: mem.map((r) => [
        String(r.parameters.service),
        `during ${(r.parameters.during as string[]).join(', ')}`,
      ]),
      datasets: [
        {
          type: 'bar',
          label: 'peak RSS (MB, VmHWM)',
          data: mem.map((r) => r.value),
          backgroundColor: '#4a78c2',
        },
      ],
    },
    options: {
      plugins: { title: { display: true, text: 'Peak memory per service process', font: { size: 16 } } },
      scales: { y: { beginAtZero: true, title: { display: true, text: 'MB' } } },
    },
    plugins: [valueLabels((v) => v.toFixed(0))],
  } as ChartConfiguration);
}

/** A white picture with a title and a subtitle line at the top, for charts to be drawn into. */
export function titledCanvas(width: number, height: number, title: string, subtitle: string) {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#111';
  ctx.font = 'bold 20px DejaVu Sans, sans-serif';
  ctx.fillText(title, 20, 28);
  ctx.font = '14px DejaVu Sans, sans-serif';
  ctx.fillStyle = '#444';
  ctx.fillText(subtitle, 20, 50);
  return { canvas, ctx };
}

/** The whole picture as PNG bytes. `subtitle` carries the date and load average. */
export async function renderChart(rows: BenchRow[], subtitle: string): Promise<Buffer> {
  const { canvas, ctx } = titledCanvas(
    1680,
    60 + 420 + 20 + 300 + 20,
    'Interaction tracker benchmarks',
    subtitle,
  );
  ctx.drawImage(ratioChart(rows), 20, 60);
  ctx.drawImage(latencyChart(rows), 660, 60);
  ctx.drawImage(memoryChart(rows), 20, 500);
  return canvas.encode('png');
}
