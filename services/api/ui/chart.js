// Inline SVG charts: no library. Drawn from plain numbers; null means "no runs in that bucket".
import { formatMs, h, s } from './dom.js';

const W = 640;
const H = 150;
const PAD = { left: 56, right: 12, top: 10, bottom: 24 };

function frame(title, labels, yTicks, yFormat, yMax) {
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  for (const tick of yTicks) {
    const y = PAD.top + innerH - (tick / yMax) * innerH;
    svg.append(
      s('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: 'grid' }),
      s('text', { x: PAD.left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, yFormat(tick)),
    );
  }
  const step = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, i) => {
    if (i % step !== 0) return;
    const x = PAD.left + (i + 0.5) * (innerW / labels.length);
    svg.append(s('text', { x, y: H - 6, 'text-anchor': 'middle', class: 'axis' }, label));
  });
  return { svg, innerW, innerH };
}

/** Success rate per bucket as bars; red below 100 %, grey where nothing ran. */
export function successRateChart(buckets) {
  const { svg, innerW, innerH } = frame(
    'success rate over time',
    buckets.map((b) => b.label),
    [0, 0.5, 1],
    (v) => `${Math.round(v * 100)} %`,
    1,
  );
  const slot = innerW / buckets.length;
  buckets.forEach((bucket, i) => {
    const x = PAD.left + i * slot + slot * 0.15;
    const width = slot * 0.7;
    if (bucket.runs === 0 || bucket.successRate === null) {
      svg.append(
        s(
          'rect',
          { x, y: PAD.top + innerH - 2, width, height: 2, class: 'bar-empty' },
          s('title', {}, `${bucket.label}: no runs`),
        ),
      );
      return;
    }
    const height = Math.max(2, bucket.successRate * innerH);
    svg.append(
      s(
        'rect',
        {
          x,
          y: PAD.top + innerH - height,
          width,
          height,
          class: bucket.successRate < 1 ? 'bar-bad' : 'bar-good',
        },
        s('title', {}, `${bucket.label}: ${Math.round(bucket.successRate * 100)} % of ${bucket.runs} runs`),
      ),
    );
  });
  return svg;
}

/** p50 and p95 duration per bucket as two lines, gaps where nothing ran. */
export function durationChart(buckets) {
  const max = Math.max(
    1,
    ...buckets.flatMap((b) => [b.p50, b.p95]).filter((v) => v !== null && v !== undefined),
  );
  const yMax = niceCeil(max);
  const { svg, innerW, innerH } = frame(
    'duration over time',
    buckets.map((b) => b.label),
    [0, yMax / 2, yMax],
    formatMs,
    yMax,
  );
  const slot = innerW / buckets.length;
  for (const [key, className] of [
    ['p95', 'line-p95'],
    ['p50', 'line-p50'],
  ]) {
    let path = '';
    let pen = false;
    buckets.forEach((bucket, i) => {
      const value = bucket[key];
      if (value === null || value === undefined) {
        pen = false;
        return;
      }
      const x = PAD.left + (i + 0.5) * slot;
      const y = PAD.top + innerH - (value / yMax) * innerH;
      path += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)} `;
      pen = true;
      svg.append(
        s(
          'circle',
          { cx: x, cy: y, r: 2.5, class: className },
          s('title', {}, `${bucket.label}: ${key} ${formatMs(value)}`),
        ),
      );
    });
    if (path) svg.append(s('path', { d: path.trim(), class: className, fill: 'none' }));
  }
  return svg;
}

export function legend(items) {
  return h(
    'p',
    { class: 'legend' },
    items.map(([className, text]) => h('span', { class: `key ${className}` }, text)),
  );
}

function niceCeil(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 5, 10]) if (value <= factor * magnitude) return factor * magnitude;
  return 10 * magnitude;
}
