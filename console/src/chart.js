// A uPlot chart as a component. The x axis is categorical (dates, cities,
// hours...): labels[i] is the label of x = i. series = [{label, values}]
// with values aligned on labels (null for a gap). kind "line" or "bar"
// (bars for one series; several series are drawn as lines with points).
// connect false: points only, no lines (for x values without an order, such
// as cities).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './ui.js';

const COLORS = ['#1f5fbf', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d'];

export function Chart({ labels, series, kind = 'line', height = 220, fmt, title, connect = true }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el || labels.length === 0) return undefined;
    const bars = kind === 'bar' && series.length === 1;
    const xs = labels.map((_, i) => i);
    const opts = {
      width: Math.max(el.clientWidth, 200),
      height,
      title,
      legend: { show: series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: [-0.5, labels.length - 0.5] },
        ...(bars ? { y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] } } : {}),
      },
      axes: [
        {
          splits: () => xs,
          values: (u, splits) => {
            // thin the labels when they would overlap
            const room = u.bbox.width / devicePixelRatio / Math.max(labels.length, 1);
            const widest = Math.max(...labels.map((l) => String(l).length)) * 7;
            const step = Math.max(1, Math.ceil(widest / Math.max(room, 1)));
            return splits.map((i) => (i % step === 0 ? labels[i] ?? '' : ''));
          },
          grid: { show: false },
        },
        { values: (u, splits) => splits.map((v) => (fmt ? fmt(v) : v)), size: 60 },
      ],
      series: [
        { label: '' },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          fill: bars ? `${COLORS[i % COLORS.length]}cc` : undefined,
          width: bars ? 0 : 2,
          points: { show: !bars, size: connect ? 5 : 9, fill: connect ? '#fff' : COLORS[i % COLORS.length] },
          paths: bars ? uPlot.paths.bars({ size: [0.6, 60] }) : connect ? undefined : () => null,
          value: (u, v) => (v === null || v === undefined ? '–' : fmt ? fmt(v) : v),
          spanGaps: false,
        })),
      ],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)], el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify(labels), JSON.stringify(series), kind, height, title, connect]);
  return html`<div class="chart" ref=${box}></div>`;
}
