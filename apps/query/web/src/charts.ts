import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PieController,
  PointElement,
  Tooltip,
} from 'chart.js';
import type { Stats } from './api.js';
import { dataTable, one } from './dom.js';
import { formatDay, formatNumber, truncate } from './format.js';

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PieController,
  PointElement,
  Tooltip,
);

type ChartKey = 'daily' | 'actions' | 'pages' | 'roles';

interface Palette {
  text: string;
  muted: string;
  grid: string;
  surface: string;
  accent: string;
  accentSoft: string;
  series: string[];
  roles: Record<string, string>;
}

/**
 * The theme colours, resolved: the CSS variables hold light-dark() pairs, which only a styled element
 * resolves (to the scheme in force), so a hidden probe element reads each one as rgb().
 */
function palette(): Palette {
  const probe = document.createElement('span');
  probe.hidden = true;
  document.body.append(probe);
  const v = (name: string) => {
    probe.style.color = `var(${name})`;
    return getComputedStyle(probe).color;
  };
  try {
    return {
      text: v('--text'),
      muted: v('--muted'),
      grid: v('--grid'),
      surface: v('--surface'),
      accent: v('--accent'),
      accentSoft: v('--accent-soft'),
      series: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => v(`--series-${i}`)),
      roles: { ADMIN: v('--role-admin'), USER: v('--role-user'), GUEST: v('--role-guest') },
    };
  } finally {
    probe.remove();
  }
}

interface Series {
  labels: string[];
  /** Full labels for tooltips and the data table (axis labels may be shortened). */
  fullLabels: string[];
  values: number[];
}

interface Panel {
  chart: Chart;
  box: HTMLElement;
  canvas: HTMLCanvasElement;
  table: HTMLElement;
  title: string;
  kind: string;
  columns: [string, string];
  fullLabels: string[];
}

export type FilterPick = (chart: 'action' | 'page' | 'role', value: string) => void;

/**
 * The four charts. They are created once; every refresh replaces their data in place and calls
 * update(), so live data animates between states instead of flashing a new chart.
 */
export class Charts {
  private readonly panels = new Map<ChartKey, Panel>();
  private colors = palette();

  constructor(root: HTMLElement, onPick: FilterPick) {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.maintainAspectRatio = false;
    if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) Chart.defaults.animation = false;
    else if (Chart.defaults.animation) Chart.defaults.animation.duration = 500;

    this.add(root, 'daily', 'Daily actions', 'Line chart', ['Day', 'Actions'], this.lineConfig());
    this.add(
      root,
      'actions',
      'Actions by type',
      'Bar chart',
      ['Action', 'Count'],
      this.barConfig('x', (label) => onPick('action', label)),
    );
    this.add(
      root,
      'pages',
      'Top pages',
      'Horizontal bar chart',
      ['Page', 'Count'],
      this.barConfig('y', (label) => onPick('page', label)),
    );
    this.add(
      root,
      'roles',
      'Users by role',
      'Pie chart',
      ['Role', 'Users'],
      this.pieConfig((label) => onPick('role', label)),
    );
  }

  update(stats: Stats): void {
    this.set('daily', {
      labels: stats.daily.map((d, _i, all) =>
        formatDay(d.date, all[0]!.date.slice(0, 4) !== all.at(-1)!.date.slice(0, 4)),
      ),
      fullLabels: stats.daily.map((d) => d.date),
      values: stats.daily.map((d) => d.count),
    });
    this.set('actions', {
      labels: stats.byAction.map((a) => truncate(a.action, 18)),
      fullLabels: stats.byAction.map((a) => a.action),
      values: stats.byAction.map((a) => a.count),
    });
    this.set('pages', {
      labels: stats.pageRanking.map((p) => truncate(p.page, 28)),
      fullLabels: stats.pageRanking.map((p) => p.page),
      values: stats.pageRanking.map((p) => p.count),
    });
    this.set('roles', {
      labels: stats.roleDistribution.map((r) => r.role),
      fullLabels: stats.roleDistribution.map((r) => r.role),
      values: stats.roleDistribution.map((r) => r.users),
    });
  }

  /** Re-reads the theme colours (after a theme switch) and repaints without animation. */
  retheme(): void {
    this.colors = palette();
    for (const [key, panel] of this.panels) {
      this.applyColors(key, panel.chart);
      panel.chart.update('none');
    }
  }

  private add(
    root: HTMLElement,
    key: ChartKey,
    title: string,
    kind: string,
    columns: [string, string],
    config: ChartConfiguration,
  ): void {
    const figure = one(root, `[data-chart="${key}"]`);
    const canvas = one<HTMLCanvasElement>(figure, 'canvas');
    const chart = new Chart(canvas, config);
    const panel: Panel = {
      chart,
      box: one(figure, '.chart-box'),
      canvas,
      table: one(figure, '.chart-data .table-scroll'),
      title,
      kind,
      columns,
      fullLabels: [],
    };
    this.panels.set(key, panel);
    this.applyColors(key, chart);
  }

  private set(key: ChartKey, series: Series): void {
    const panel = this.panels.get(key)!;
    const { chart } = panel;
    panel.fullLabels = series.fullLabels;
    chart.data.labels = series.labels;
    const dataset = chart.data.datasets[0]!;
    dataset.data = series.values;
    if (key === 'roles')
      dataset.backgroundColor = series.fullLabels.map((role, i) => this.roleColor(role, i));
    if (key === 'daily') {
      const line = dataset as unknown as { pointRadius: number };
      line.pointRadius = series.values.length > 45 ? 0 : 3;
    }
    chart.update();

    const empty = series.values.every((v) => v === 0);
    panel.box.classList.toggle('is-empty', empty);
    one(panel.box, '.chart-empty').hidden = !empty;
    const top = series.fullLabels
      .map((label, i) => `${label} ${formatNumber(series.values[i] ?? 0, 'integer')}`)
      .slice(0, key === 'daily' ? 0 : 5);
    const total = series.values.reduce((a, b) => a + b, 0);
    const summary =
      key === 'daily'
        ? `${series.values.length} days, ${formatNumber(total, 'integer')} actions in total, peak ${formatNumber(Math.max(0, ...series.values), 'integer')}`
        : top.join(', ');
    panel.canvas.setAttribute(
      'aria-label',
      `${panel.kind} of ${panel.title.toLowerCase()}: ${empty ? 'no data' : summary}`,
    );
    panel.table.replaceChildren(
      dataTable(
        panel.title,
        panel.columns,
        series.fullLabels.map((label, i) => [label, formatNumber(series.values[i] ?? 0, 'integer')]),
      ),
    );
  }

  private roleColor(role: string, i: number): string {
    return this.colors.roles[role] ?? this.colors.series[i % this.colors.series.length]!;
  }

  private applyColors(key: ChartKey, chart: Chart): void {
    const c = this.colors;
    const scales = chart.options.scales as
      | Record<string, { grid?: { color?: string }; ticks?: { color?: string }; border?: { color?: string } }>
      | undefined;
    for (const scale of Object.values(scales ?? {})) {
      if (scale.grid) scale.grid.color = c.grid;
      if (scale.ticks) scale.ticks.color = c.muted;
      if (scale.border) scale.border.color = c.grid;
    }
    const legend = chart.options.plugins?.legend;
    if (legend?.labels) legend.labels.color = c.text;
    const dataset = chart.data.datasets[0]!;
    if (key === 'daily') {
      dataset.borderColor = c.accent;
      dataset.backgroundColor = c.accentSoft;
      (dataset as unknown as { pointBackgroundColor: string }).pointBackgroundColor = c.accent;
    } else if (key === 'actions') {
      dataset.backgroundColor = c.series[0];
    } else if (key === 'pages') {
      dataset.backgroundColor = c.series[1];
    } else {
      dataset.borderColor = c.surface;
      const labels = (chart.data.labels ?? []) as string[];
      dataset.backgroundColor = labels.map((role, i) => this.roleColor(role, i));
    }
  }

  private tooltipTitle(key: ChartKey) {
    return (items: { dataIndex: number }[]) => {
      const panel = this.panels.get(key);
      const i = items[0]?.dataIndex ?? 0;
      return panel?.fullLabels[i] ?? '';
    };
  }

  private lineConfig(): ChartConfiguration<'line', number[], string> {
    return {
      type: 'line',
      data: {
        labels: [],
        datasets: [
          {
            label: 'Actions',
            data: [],
            fill: true,
            // Monotone: the curve never dips below zero or overshoots between two days.
            cubicInterpolationMode: 'monotone',
            borderWidth: 2,
            pointRadius: 3,
            pointHoverRadius: 5,
          },
        ],
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 16 }, border: {} },
          y: { beginAtZero: true, grid: {}, ticks: { precision: 0 }, border: { display: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: this.tooltipTitle('daily') } },
        },
      },
    };
  }

  private barConfig(
    axis: 'x' | 'y',
    pick: (label: string) => void,
  ): ChartConfiguration<'bar', number[], string> {
    const key: ChartKey = axis === 'x' ? 'actions' : 'pages';
    const valueScale = { beginAtZero: true, grid: {}, ticks: { precision: 0 }, border: { display: false } };
    const labelScale = { grid: { display: false }, ticks: { autoSkip: axis === 'x' }, border: {} };
    return {
      type: 'bar',
      data: {
        labels: [],
        datasets: [
          {
            label: axis === 'x' ? 'Actions' : 'Interactions',
            data: [],
            borderRadius: 6,
            maxBarThickness: axis === 'x' ? 48 : 22,
          },
        ],
      },
      options: {
        indexAxis: axis,
        scales: axis === 'x' ? { x: labelScale, y: valueScale } : { x: valueScale, y: labelScale },
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: this.tooltipTitle(key) } } },
        onHover: (event, elements) => {
          const target = event.native?.target as HTMLElement | undefined;
          if (target) target.style.cursor = elements.length ? 'pointer' : 'default';
        },
        onClick: (_event, elements) => {
          const index = elements[0]?.index;
          const label = index === undefined ? undefined : this.panels.get(key)?.fullLabels[index];
          if (label) pick(label);
        },
      },
    };
  }

  private pieConfig(pick: (label: string) => void): ChartConfiguration<'pie', number[], string> {
    return {
      type: 'pie',
      data: { labels: [], datasets: [{ label: 'Users', data: [], borderWidth: 2, hoverOffset: 6 }] },
      options: {
        plugins: {
          legend: { position: 'bottom', labels: { usePointStyle: true, pointStyle: 'circle', padding: 16 } },
          tooltip: { callbacks: { title: this.tooltipTitle('roles') } },
        },
        onClick: (_event, elements) => {
          const index = elements[0]?.index;
          const label = index === undefined ? undefined : this.panels.get('roles')?.fullLabels[index];
          if (label) pick(label);
        },
      },
    };
  }
}
