/**
 * Per-entity rolling history.
 *
 * Training: rows accumulate per entity until `minHistory` rows are held and at
 * least `minIncrement` rows arrived since the last training; the window handed
 * to training then holds the last `maxHistoryMs` of history plus every new row.
 * Unlike Morpheus, rows older than the newest held row are merged in time order
 * (not dropped), and rows already held (same content) are not counted twice.
 *
 * Inference: each new batch is scored once; the rows of the preceding day are
 * kept only so that per-day derived features (logcount, increments) are right
 * for batches that start mid-day.
 */
import { type Table, concatTables, getNumbers, sortByNumber, takeRows } from '../table';
import { rowHashes } from './row-hash';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface TrainingWindowOptions {
  timestampColumn: string;
  minHistory: number;
  minIncrement: number;
  /** Kept history in ms; null keeps everything. */
  maxHistoryMs: number | null;
}

export const DEFAULT_TRAINING_WINDOW = {
  minHistory: 300,
  minIncrement: 300,
  maxHistoryMs: 60 * DAY_MS,
} as const;

interface EntityState {
  table: Table | null;
  hashes: Set<number>;
  totalCount: number;
  lastTrainCount: number;
  /** Earliest time among rows added since the last training (never trimmed). */
  earliestNew: number;
}

/** Counters stored with an entity's training window. */
export interface TrainingStateMeta {
  totalCount: number;
  lastTrainCount: number;
  /** Earliest time among rows added since the last training; null when none. */
  earliestNew: number | null;
}

export type WindowDecision =
  | { ready: true; window: Table; newRows: number; duplicates: number }
  | { ready: false; reason: string; held: number; newRows: number; duplicates: number };

function sortByTime(table: Table, timestampColumn: string): Table {
  return sortByNumber(table, timestampColumn);
}

/** Rows of `table` whose hash is not in `seen`; adds the kept hashes to `seen`. */
function dropSeen(table: Table, seen: Set<number>): { table: Table; dropped: number } {
  const hashes = rowHashes(table);
  const keep: number[] = [];
  for (let i = 0; i < hashes.length; i++) {
    if (!seen.has(hashes[i])) {
      seen.add(hashes[i]);
      keep.push(i);
    }
  }
  const dropped = table.numRows - keep.length;
  return { table: dropped === 0 ? table : takeRows(table, keep), dropped };
}

export class TrainingWindows {
  private readonly states = new Map<string, EntityState>();

  constructor(private readonly options: TrainingWindowOptions) {}

  /** Adds an entity's new rows and says whether a training window is due. */
  append(key: string, incoming: Table): WindowDecision {
    const added = this.add(key, incoming);
    const decision = this.take(key);
    return { ...decision, newRows: added.newRows, duplicates: added.duplicates };
  }

  /**
   * Adds an entity's new rows without deciding anything yet, so that a backlog
   * of batches read in one run trains each entity once, on everything, rather
   * than once per batch.
   */
  add(key: string, incoming: Table): { newRows: number; duplicates: number; fresh: Table } {
    let state = this.states.get(key);
    if (!state) {
      state = {
        table: null,
        hashes: new Set(),
        totalCount: 0,
        lastTrainCount: 0,
        earliestNew: Infinity,
      };
      this.states.set(key, state);
    }
    const { table: fresh, dropped } = dropSeen(incoming, state.hashes);
    const ts = this.options.timestampColumn;
    for (const t of getNumbers(fresh, ts)) if (t < state.earliestNew) state.earliestNew = t;
    if (fresh.numRows > 0) {
      state.table = sortByTime(state.table ? concatTables([state.table, fresh]) : fresh, ts);
      state.totalCount += fresh.numRows;
    }
    return { newRows: fresh.numRows, duplicates: dropped, fresh };
  }

  /** The training window when the gates open; marks it as trained. */
  take(key: string): WindowDecision {
    const decision = this.peek(key);
    if (decision.ready) this.markTrained(key, decision.count);
    return decision;
  }

  /**
   * The training window when the gates open, without marking it as trained:
   * a caller that trains in the background marks it with `markTrained` once
   * the model is registered, so that a crash in between trains it again.
   */
  peek(key: string): WindowDecision & { count: number } {
    const state = this.states.get(key);
    const held = state?.table?.numRows ?? 0;
    const base = { newRows: 0, duplicates: 0, held, count: state?.totalCount ?? 0 };
    if (!state || held < this.options.minHistory) {
      return {
        ready: false,
        reason: `insufficient history ${held} < ${this.options.minHistory}`,
        ...base,
      };
    }
    const increment = state.totalCount - state.lastTrainCount;
    if (increment < this.options.minIncrement) {
      return {
        ready: false,
        reason:
          `only ${increment} new rows since the last training ` +
          `(< ${this.options.minIncrement})`,
        ...base,
      };
    }
    const window = this.trim(state.table as Table, state.earliestNew);
    if (window !== state.table) {
      state.table = window;
      state.hashes = new Set(rowHashes(window));
    }
    return { ready: true, window, newRows: 0, duplicates: 0, count: state.totalCount };
  }

  /** Records a training on the window that `peek` gave when `count` rows had arrived. */
  markTrained(key: string, count: number): void {
    const state = this.states.get(key);
    if (!state) return;
    state.lastTrainCount = Math.max(state.lastTrainCount, count);
    // Rows that came after the window keep the earliest time among them (or an earlier one).
    if (state.totalCount <= count) state.earliestNew = Infinity;
  }

  /** Whether the entity's state is in memory. */
  has(key: string): boolean {
    return this.states.has(key);
  }

  /** An entity's rows and counters, to be stored. */
  exportState(key: string): { table: Table | null; meta: TrainingStateMeta } | null {
    const state = this.states.get(key);
    if (!state) return null;
    return {
      table: state.table,
      meta: {
        totalCount: state.totalCount,
        lastTrainCount: state.lastTrainCount,
        earliestNew: Number.isFinite(state.earliestNew) ? state.earliestNew : null,
      },
    };
  }

  /** Puts back an entity's stored state (replacing what memory held for it). */
  restore(key: string, table: Table | null, meta: TrainingStateMeta): void {
    const ts = this.options.timestampColumn;
    const sorted = table && table.numRows > 0 ? sortByTime(table, ts) : null;
    const { table: unique } = sorted
      ? dropSeen(sorted, new Set())
      : { table: null as Table | null };
    this.states.set(key, {
      table: unique,
      hashes: new Set(unique ? rowHashes(unique) : []),
      totalCount: meta.totalCount,
      lastTrainCount: meta.lastTrainCount,
      earliestNew: meta.earliestNew ?? Infinity,
    });
  }

  /** Drops one entity from memory (it is read back from storage when next needed). */
  delete(key: string): void {
    this.states.delete(key);
  }

  /** Drops entities from memory (after a rebalance), except those in `keep`. */
  forget(keep: Set<string> = new Set()): void {
    for (const key of [...this.states.keys()]) if (!keep.has(key)) this.states.delete(key);
  }

  /** Rows currently held for an entity. */
  held(key: string): number {
    return this.states.get(key)?.table?.numRows ?? 0;
  }

  private trim(table: Table, earliestNew: number): Table {
    const maxHistory = this.options.maxHistoryMs;
    if (maxHistory === null) return table;
    const ts = getNumbers(table, this.options.timestampColumn);
    const latest = ts[ts.length - 1];
    const cutoff = Math.min(latest - maxHistory, earliestNew);
    let first = 0;
    while (first < ts.length && ts[first] < cutoff) first++;
    if (first === 0) return table;
    return takeRows(
      table,
      Array.from({ length: ts.length - first }, (_, i) => first + i),
    );
  }
}

export interface InferenceWindow {
  /** History rows of the last day and the new rows, merged in time order. */
  table: Table;
  /** 1 where the row of `table` is new (to be scored), 0 for history. */
  isNew: Uint8Array;
  /** New rows dropped because the same row was already scored. */
  duplicates: number;
}

/** An entity's remembered rows, with each row's hash (aligned) and the set of them. */
interface HistoryState {
  table: Table | null;
  hashes: Set<number>;
  rowHashes: number[];
}

export class InferenceHistory {
  private readonly states = new Map<string, HistoryState>();

  constructor(
    private readonly timestampColumn: string,
    private readonly historyMs: number = DAY_MS,
  ) {}

  /** The rows to preprocess for an entity's new batch; remembers the last day. */
  prepare(key: string, incoming: Table): InferenceWindow {
    // A new state object each time (never mutated), so that a checkpoint stays intact.
    const state = this.states.get(key) ?? { table: null, hashes: new Set<number>(), rowHashes: [] };
    const ts = this.timestampColumn;
    // Each row is hashed once, when it arrives; the hashes then follow their rows.
    const incomingHashes = rowHashes(incoming);
    const seen = new Set<number>();
    const freshRows: number[] = [];
    for (let i = 0; i < incomingHashes.length; i++) {
      const h = incomingHashes[i];
      if (state.hashes.has(h) || seen.has(h)) continue;
      seen.add(h);
      freshRows.push(i);
    }
    const dropped = incoming.numRows - freshRows.length;
    const fresh = dropped === 0 ? incoming : takeRows(incoming, freshRows);
    const history = state.table;
    const historyRows = history?.numRows ?? 0;
    const merged = history && historyRows > 0 ? concatTables([history, fresh]) : fresh;
    const mergedHashes = [...(historyRows > 0 ? state.rowHashes : [])];
    for (const i of freshRows) mergedHashes.push(incomingHashes[i]);

    const times = getNumbers(merged, ts);
    const order = Array.from(times.keys()).sort((a, b) => times[a] - times[b] || a - b);
    const inOrder = order.every((v, i) => v === i);
    const table = inOrder ? merged : takeRows(merged, order);
    const isNew = new Uint8Array(order.length);
    for (let i = 0; i < order.length; i++) isNew[i] = order[i] >= historyRows ? 1 : 0;

    // Remember only the last `historyMs` before the newest row.
    const sortedTimes = inOrder ? times : getNumbers(table, ts);
    const latest = sortedTimes.length > 0 ? sortedTimes[sortedTimes.length - 1] : -Infinity;
    const keep: number[] = [];
    for (let i = 0; i < sortedTimes.length; i++) {
      if (sortedTimes[i] >= latest - this.historyMs) keep.push(i);
    }
    const kept = keep.length === table.numRows ? table : takeRows(table, keep);
    const keptHashes = keep.map((k) => mergedHashes[order[k]]);
    this.states.set(key, { table: kept, hashes: new Set(keptHashes), rowHashes: keptHashes });
    return { table, isNew, duplicates: dropped };
  }

  /** Whether the entity's history is in memory. */
  has(key: string): boolean {
    return this.states.has(key);
  }

  /** The rows remembered for an entity (the last day), to be stored. */
  rowsOf(key: string): Table | null {
    return this.states.get(key)?.table ?? null;
  }

  /** Puts back an entity's stored history. */
  restore(key: string, table: Table | null): void {
    const sorted = table && table.numRows > 0 ? sortByTime(table, this.timestampColumn) : null;
    const hashes = sorted ? rowHashes(sorted) : [];
    this.states.set(key, { table: sorted, hashes: new Set(hashes), rowHashes: hashes });
  }

  /** Drops every entity from memory (after a rebalance another member may have moved them on). */
  forget(): void {
    this.states.clear();
  }

  /** A copy of what is held, to go back to when a batch fails half-way. */
  checkpoint(): Map<string, HistoryState> {
    return new Map(this.states);
  }

  rollback(saved: Map<string, HistoryState>): void {
    this.states.clear();
    for (const [k, v] of saved) this.states.set(k, v);
  }
}
