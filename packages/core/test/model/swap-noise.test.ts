import { applySwapNoise, createRng, swapCount, type EncodedRows } from '../../src/model';
import { epochBatches } from '../../src/model/train';

function encoded(rows: number): EncodedRows {
  const numeric = new Float32Array(rows * 2);
  const categorical = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    numeric[r * 2] = r;
    numeric[r * 2 + 1] = 10_000 + r;
    categorical[r] = r % 7;
  }
  return {
    rows,
    width: { numeric: 2, binary: 0, categorical: 1 },
    numeric,
    binary: new Float32Array(0),
    categorical,
  };
}

describe('model > swap noise', () => {
  it('swaps round(rows·p) cells per column (Python rounding)', () => {
    expect(swapCount(512, 0.2)).toBe(102);
    expect(swapCount(10, 0.25)).toBe(2); // 2.5 → 2
    expect(swapCount(14, 0.25)).toBe(4); // 3.5 → 4
    expect(swapCount(100, 0)).toBe(0);
  });

  it('leaves the batch unchanged with p = 0', () => {
    const batch = encoded(50);
    const out = applySwapNoise(batch, 0, createRng(1));
    expect(out.numeric).toEqual(batch.numeric);
    expect(out.categorical).toEqual(batch.categorical);
    expect(out.numeric).not.toBe(batch.numeric);
  });

  it('changes at most k cells per column, within the column, input intact', () => {
    const rows = 1000;
    const batch = encoded(rows);
    const before = batch.numeric.slice();
    const out = applySwapNoise(batch, 0.2, createRng(7));
    const k = swapCount(rows, 0.2);
    let changedFirst = 0;
    let changedSecond = 0;
    const sameRowChanged: number[] = [];
    for (let r = 0; r < rows; r++) {
      const a = out.numeric[r * 2];
      const b = out.numeric[r * 2 + 1];
      if (a !== r) {
        changedFirst++;
        expect(Number.isInteger(a) && a >= 0 && a < rows).toBe(true);
      }
      if (b !== 10_000 + r) {
        changedSecond++;
        expect(b >= 10_000 && b < 10_000 + rows).toBe(true);
      }
      if (a !== r && b !== 10_000 + r) sameRowChanged.push(r);
    }
    // k = 200 draws; repeated destinations make the count a little lower.
    for (const changed of [changedFirst, changedSecond]) {
      expect(changed).toBeLessThanOrEqual(k);
      expect(changed).toBeGreaterThan(k * 0.75);
    }
    // Columns are corrupted independently, so few rows change in both.
    expect(sameRowChanged.length).toBeLessThan(k * 0.5);
    expect(batch.numeric).toEqual(before);
  });

  it('is reproducible for a seed', () => {
    const batch = encoded(200);
    const a = applySwapNoise(batch, 0.2, createRng(3));
    const b = applySwapNoise(batch, 0.2, createRng(3));
    const c = applySwapNoise(batch, 0.2, createRng(4));
    expect(a.numeric).toEqual(b.numeric);
    expect(a.categorical).toEqual(b.categorical);
    expect(a.numeric).not.toEqual(c.numeric);
  });
});

describe('model > batches', () => {
  it('visits contiguous slices in random order, shuffled inside, each row once', () => {
    const batches = epochBatches(1100, 256, createRng(5));
    expect(batches.map((b) => b.length).sort((x, y) => x - y)).toEqual([76, 256, 256, 256, 256]);
    const starts = batches.map((b) => Math.min(...b));
    expect(starts).not.toEqual([...starts].sort((x, y) => x - y));
    for (const batch of batches) {
      const sorted = Array.from(batch).sort((x, y) => x - y);
      expect(sorted).toEqual(sorted.map((_, i) => sorted[0] + i));
      expect(Array.from(batch)).not.toEqual(sorted);
    }
    expect(batches.reduce((n, b) => n + b.length, 0)).toBe(1100);
  });
});
