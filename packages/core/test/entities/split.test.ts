import { splitByEntity, splitModeFor } from '../../src/entities/split';
import { getNumbers, getStrings, makeTable } from '../../src/table';

const table = makeTable([
  { name: 'username', type: 'string', values: ['bob', 'alice', 'bob', 'carol', 'alice'] },
  { name: 'n', type: 'int', values: [0, 1, 2, 3, 4] },
]);

describe('entities > split', () => {
  it('emits the generic batch first, then entities in sorted order with rows in order', () => {
    const parts = splitByEntity(table, { entityColumn: 'username', ...splitModeFor('all') });
    expect(parts.map((p) => p.entity)).toEqual([null, 'alice', 'bob', 'carol']);
    expect(parts[0].table.numRows).toBe(5);
    expect(getStrings(parts[2].table, 'username')).toEqual(['bob', 'bob']);
    expect(Array.from(getNumbers(parts[1].table, 'n'))).toEqual([1, 4]);
  });

  it('maps --train_users like Morpheus', () => {
    expect(splitModeFor('generic')).toEqual({ includeGeneric: true, includeIndividual: false });
    expect(splitModeFor('individual')).toEqual({ includeGeneric: false, includeIndividual: true });
    expect(splitModeFor('none')).toEqual({ includeGeneric: false, includeIndividual: true });
  });

  it('drops skipped entities from the generic batch too', () => {
    const parts = splitByEntity(table, {
      entityColumn: 'username',
      ...splitModeFor('all'),
      skipEntities: ['bob'],
    });
    expect(parts.map((p) => p.entity)).toEqual([null, 'alice', 'carol']);
    expect(parts[0].table.numRows).toBe(3);
  });

  it('keeps only the listed entities with --only_user', () => {
    const parts = splitByEntity(table, {
      entityColumn: 'username',
      ...splitModeFor('individual'),
      onlyEntities: ['carol'],
    });
    expect(parts.map((p) => [p.entity, p.table.numRows])).toEqual([['carol', 1]]);
  });
});
