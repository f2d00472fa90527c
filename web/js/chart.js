// A small line chart on a <canvas>: several series of percentages (0-100) over the last
// N samples, redrawn on each sample and when the canvas changes size.

export class LineChart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{key: string, color: string}[]} series
   * @param {number} capacity samples kept
   */
  constructor(canvas, series, capacity = 60) {
    this.canvas = canvas;
    this.series = series;
    this.capacity = capacity;
    this.samples = [];
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(canvas);
  }

  push(sample) {
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
    this.draw();
  }

  clear() {
    this.samples = [];
    this.draw();
  }

  draw() {
    const { canvas } = this;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return; // hidden
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const styles = getComputedStyle(canvas);
    const grid = styles.getPropertyValue('--chart-grid').trim() || 'rgba(128,128,128,0.25)';
    const label = styles.getPropertyValue('--chart-label').trim() || '#888';
    const left = 34;
    const right = 6;
    const top = 8;
    const bottom = 8;
    const plotWidth = Math.max(1, width - left - right);
    const plotHeight = Math.max(1, height - top - bottom);
    const y = (value) => top + plotHeight * (1 - Math.min(100, Math.max(0, value)) / 100);
    const x = (index) => left + (plotWidth * index) / Math.max(1, this.capacity - 1);

    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.lineWidth = 1;
    for (const level of [0, 25, 50, 75, 100]) {
      ctx.strokeStyle = grid;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y(level)) + 0.5);
      ctx.lineTo(width - right, Math.round(y(level)) + 0.5);
      ctx.stroke();
      ctx.fillStyle = label;
      ctx.fillText(`${level}%`, left - 4, y(level));
    }

    // The newest sample sits at the right edge.
    const offset = this.capacity - this.samples.length;
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    for (const { key, color } of this.series) {
      ctx.strokeStyle = styles.getPropertyValue(color).trim() || color;
      ctx.beginPath();
      let started = false;
      this.samples.forEach((sample, index) => {
        const value = Number(sample[key]);
        if (!Number.isFinite(value)) return;
        const px = x(offset + index);
        const py = y(value);
        if (started) ctx.lineTo(px, py);
        else {
          ctx.moveTo(px, py);
          started = true;
        }
      });
      if (started) ctx.stroke();
    }
  }
}
