// Sparklines: a tiny inline SVG polyline of the last N values of one series, for table
// cells (a managed process's CPU and memory history).

const SVG = 'http://www.w3.org/2000/svg';

/** Keeps the last `capacity` values per key and series. */
export class History {
  constructor(capacity = 30) {
    this.capacity = capacity;
    this.byKey = new Map();
  }

  /** Appends one sample ({series: value}) for `key`. */
  push(key, sample) {
    let entry = this.byKey.get(key);
    if (!entry) {
      entry = {};
      this.byKey.set(key, entry);
    }
    for (const [series, value] of Object.entries(sample)) {
      const values = entry[series] || (entry[series] = []);
      values.push(Number(value) || 0);
      if (values.length > this.capacity) values.shift();
    }
  }

  /** The values of one series for `key` (oldest first). */
  values(key, series) {
    const entry = this.byKey.get(key);
    return (entry && entry[series]) || [];
  }

  /** Forgets every key not in `keep`, and `drop`s. */
  retain(keep) {
    for (const key of [...this.byKey.keys()]) if (!keep.has(key)) this.byKey.delete(key);
  }

  forget(key) {
    this.byKey.delete(key);
  }
}

/**
 * An SVG sparkline of `values` scaled to `max` (or to their own maximum when absent).
 * @param {number[]} values
 * @param {{label: string, testid: string, max?: number, capacity?: number}} options
 */
export function sparkline(values, { label, testid, max, capacity = 30 }) {
  const width = 60;
  const height = 16;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('data-testid', testid);
  svg.setAttribute('data-points', String(values.length));
  if (values.length) svg.setAttribute('data-last', String(values[values.length - 1]));
  const top = Math.max(max || 0, ...values, 1e-9);
  const step = width / Math.max(1, capacity - 1);
  const offset = width - step * (values.length - 1);
  const points = values
    .map((v, i) => `${(offset + i * step).toFixed(1)},${(height - 1 - (Math.min(v, top) / top) * (height - 2)).toFixed(1)}`)
    .join(' ');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points);
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('stroke-width', '1.2');
  svg.appendChild(line);
  return svg;
}
