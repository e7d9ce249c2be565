import { splitByEntity } from '../../src/entities/split';
import { concatTables, getNumbers, getStrings, makeTable, type Table } from '../../src/table';
import { DAY_MS, InferenceHistory, TrainingWindows } from '../../src/window/rolling-window';

const T0 = Date.UTC(2022, 7, 28);

function rows(user: string, day: number, count: number, offset = 0): Table {
  const times = Array.from({ length: count }, (_, i) => T0 + day * DAY_MS + (i + offset) * 60_000);
  return makeTable([
    { name: 'username', type: 'string', values: times.map(() => user) },
    { name: 'timestamp', type: 'timestamp', values: times },
    { name: 'seq', type: 'int', values: times.map((_, i) => i + offset) },
  ]);
}

describe('window > training', () => {
  it('B01: hands the whole accumulated history to training, and skips short histories', () => {
    const windows = new TrainingWindows({
      timestampColumn: 'timestamp',
      minHistory: 300,
      minIncrement: 300,
      maxHistoryMs: 60 * DAY_MS,
    });
    const days = [
      concatTables([rows('alice@example.com', 0, 120), rows('bob@example.com', 0, 14)]),
      concatTables([rows('alice@example.com', 1, 130), rows('bob@example.com', 1, 13)]),
      concatTables([rows('alice@example.com', 2, 107), rows('bob@example.com', 2, 13)]),
    ];
    const decisions: Record<string, ReturnType<TrainingWindows['append']>[]> = {};
    for (const day of days) {
      for (const part of splitByEntity(day, {
        entityColumn: 'username',
        includeGeneric: true,
        includeIndividual: true,
      })) {
        const key = part.entity ?? 'generic';
        (decisions[key] ??= []).push(windows.append(key, part.table));
      }
    }
    const alice = decisions['alice@example.com'];
    expect(alice.map((d) => d.ready)).toEqual([false, false, true]);
    const last = alice[2];
    if (!last.ready) throw new Error('expected a window');
    expect(last.window.numRows).toBe(357);
    const times = getNumbers(last.window, 'timestamp');
    expect(times[0]).toBe(T0);
    expect(times[356]).toBe(T0 + 2 * DAY_MS + 106 * 60_000);
    expect(new Set(getStrings(last.window, 'username'))).toEqual(new Set(['alice@example.com']));

    const bob = decisions['bob@example.com'];
    expect(bob[2]).toMatchObject({ ready: false, reason: 'insufficient history 40 < 300' });

    const generic = decisions.generic;
    expect(generic.map((d) => d.ready)).toEqual([false, false, true]);
    const g = generic[2];
    if (!g.ready) throw new Error('expected a generic window');
    expect(g.window.numRows).toBe(397);
    expect(getStrings(g.window, 'username').filter((u) => u === 'bob@example.com')).toHaveLength(
      40,
    );
  });

  it('retrains only after min_increment new rows, and never counts a repeated row twice', () => {
    const windows = new TrainingWindows({
      timestampColumn: 'timestamp',
      minHistory: 10,
      minIncrement: 10,
      maxHistoryMs: null,
    });
    expect(windows.append('u', rows('u', 0, 10)).ready).toBe(true);
    const again = windows.append('u', rows('u', 0, 10));
    expect(again).toMatchObject({ ready: false, duplicates: 10, newRows: 0 });
    expect(windows.append('u', rows('u', 1, 9)).ready).toBe(false);
    const third = windows.append('u', rows('u', 1, 1, 9));
    expect(third.ready).toBe(true);
    if (third.ready) expect(third.window.numRows).toBe(20);
  });

  it('keeps max_history of history but never trims new rows', () => {
    const windows = new TrainingWindows({
      timestampColumn: 'timestamp',
      minHistory: 5,
      minIncrement: 5,
      maxHistoryMs: 2 * DAY_MS,
    });
    windows.append('u', rows('u', 0, 5));
    const late = windows.append('u', rows('u', 10, 5));
    if (!late.ready) throw new Error('expected a window');
    expect(late.window.numRows).toBe(5);
    expect(getNumbers(late.window, 'timestamp')[0]).toBe(T0 + 10 * DAY_MS);
  });

  it('merges rows older than the newest held row in time order instead of dropping them', () => {
    const windows = new TrainingWindows({
      timestampColumn: 'timestamp',
      minHistory: 8,
      minIncrement: 1,
      maxHistoryMs: null,
    });
    windows.append('u', rows('u', 1, 4));
    const d = windows.append('u', rows('u', 0, 4));
    if (!d.ready) throw new Error('expected a window');
    const t = Array.from(getNumbers(d.window, 'timestamp'));
    expect(t).toEqual([...t].sort((a, b) => a - b));
    expect(t).toHaveLength(8);
  });
});

describe('window > inference', () => {
  it('scores each row once and keeps the previous day as context', () => {
    const history = new InferenceHistory('timestamp');
    const first = history.prepare('u', rows('u', 0, 3));
    expect(Array.from(first.isNew)).toEqual([1, 1, 1]);

    const second = history.prepare('u', rows('u', 0, 5, 3));
    expect(second.table.numRows).toBe(8);
    expect(Array.from(second.isNew)).toEqual([0, 0, 0, 1, 1, 1, 1, 1]);

    const repeat = history.prepare('u', rows('u', 0, 5, 3));
    expect(repeat.duplicates).toBe(5);
    expect(Array.from(repeat.isNew).filter(Boolean)).toHaveLength(0);

    const nextWeek = history.prepare('u', rows('u', 7, 2));
    expect(Array.from(nextWeek.isNew)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    const after = history.prepare('u', rows('u', 7, 1, 2));
    expect(after.table.numRows).toBe(3);
  });
});
