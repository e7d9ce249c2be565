import { DfpError, ErrorCodes } from '../../src/errors';
import {
  MISSING_CATEGORY,
  categoriesOf,
  embeddingSize,
  encodeRows,
  fitFeatures,
  type CategoricalFeature,
  type NumericFeature,
} from '../../src/model';
import { makeTable } from '../../src/table';

describe('model > features', () => {
  it('sizes embeddings as min(600, round(1.6·n^0.56))', () => {
    const cases: [number, number][] = [
      [0, 0],
      [1, 2],
      [2, 2],
      [3, 3],
      [4, 3],
      [5, 4],
      [6, 4],
      [10, 6],
      [20, 9],
      [50, 14],
      [100, 21],
      [1000, 77],
      [40000, 600],
    ];
    for (const [n, dim] of cases) expect([n, embeddingSize(n)]).toEqual([n, dim]);
  });

  it('types features from Arrow types: numerics, then binaries, then categoricals', () => {
    const table = makeTable([
      { name: 'browser', type: 'string', values: ['a', 'b'] },
      { name: 'count', type: 'int', values: [1, 2] },
      { name: 'ok', type: 'bool', values: [true, false] },
      { name: 'ratio', type: 'float', values: [0.5, 1.5] },
    ]);
    const specs = fitFeatures(table, ['browser', 'count', 'ok', 'ratio'], 1);
    expect(specs.map((s) => [s.name, s.kind])).toEqual([
      ['count', 'numeric'],
      ['ratio', 'numeric'],
      ['ok', 'binary'],
      ['browser', 'categorical'],
    ]);
  });

  it('orders categories by count, ties by first seen, missing as a category', () => {
    const values = ['b', null, 'a', 'c', 'a', null, 'b', 'a', 'd'];
    expect(categoriesOf(values, 1)).toEqual(['a', 'b', MISSING_CATEGORY, 'c', 'd']);
    expect(categoriesOf(values, 2)).toEqual(['a', 'b', MISSING_CATEGORY]);
    const spec = fitFeatures(
      makeTable([{ name: 'x', type: 'string', values }]),
      ['x'],
      1,
    )[0] as CategoricalFeature;
    expect(spec.categories).toEqual(['a', 'b', MISSING_CATEGORY, 'c', 'd']);
    expect(spec.embeddingDim).toBe(embeddingSize(6));
  });

  it('fills missing numerics with the training mean and scales with the population std', () => {
    const train = makeTable([{ name: 'n', type: 'float', values: [1, 3, null, 5] }]);
    const spec = fitFeatures(train, ['n'], 1)[0] as NumericFeature;
    // mean of 1, 3, 5 is 3; population variance (4 + 0 + 4) / 3.
    expect(spec.mean).toBe(3);
    expect(spec.std).toBeCloseTo(Math.sqrt(8 / 3), 12);
    const encoded = encodeRows(train, [spec]);
    expect(Array.from(encoded.numeric)).toEqual(
      [1, 3, 3, 5].map((v) => Math.fround((v - 3) / Math.sqrt(8 / 3))),
    );
  });

  it('encodes binaries as 0/1 (missing 0) and unseen categories as _other', () => {
    const train = makeTable([
      { name: 'ok', type: 'bool', values: [true, false, true] },
      { name: 'browser', type: 'string', values: ['Chrome', 'Edge', 'Chrome'] },
    ]);
    const specs = fitFeatures(train, ['ok', 'browser'], 1);
    const score = makeTable([
      { name: 'ok', type: 'bool', values: [true, null, false, true] },
      { name: 'browser', type: 'string', values: ['Edge', 'Opera', null, 'Chrome'] },
    ]);
    const encoded = encodeRows(score, specs);
    expect(Array.from(encoded.binary)).toEqual([1, 0, 0, 1]);
    // categories [Chrome, Edge]; _other = 2.
    expect(Array.from(encoded.categorical)).toEqual([1, 2, 2, 0]);
  });

  it('gives a missing value seen in training its own code', () => {
    const train = makeTable([{ name: 'b', type: 'string', values: [null, 'x', null] }]);
    const specs = fitFeatures(train, ['b'], 1);
    const encoded = encodeRows(
      makeTable([{ name: 'b', type: 'string', values: [null, 'x', 'y'] }]),
      specs,
    );
    expect(Array.from(encoded.categorical)).toEqual([0, 1, 2]);
  });

  it('rejects timestamp features and infinite values, naming entity and feature', () => {
    const ts = makeTable([{ name: 'when', type: 'timestamp', values: [1, 2] }]);
    expect(() => fitFeatures(ts, ['when'], 1, 'erin')).toThrow(/when.*erin.*timestamp/);

    const inf = makeTable([{ name: 'n', type: 'float', values: [1, Infinity] }]);
    let caught: unknown;
    try {
      fitFeatures(inf, ['n'], 1, 'erin');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DfpError);
    expect((caught as DfpError).code).toBe(ErrorCodes.MODEL_NON_FINITE);
    expect((caught as DfpError).details).toMatchObject({ entity: 'erin', feature: 'n', row: 1 });
  });

  it('rejects a scoring table whose column type differs from training', () => {
    const specs = fitFeatures(makeTable([{ name: 'n', type: 'int', values: [1, 2] }]), ['n'], 1);
    const wrong = makeTable([{ name: 'n', type: 'string', values: ['1', '2'] }]);
    expect(() => encodeRows(wrong, specs)).toThrow(/learned it as numeric/);
    expect(() => encodeRows(makeTable([{ name: 'm', type: 'int', values: [1] }]), specs)).toThrow(
      /lacks model feature n/,
    );
  });
});
