/**
 * Splits a batch by entity: one table per entity id, plus (when asked) the
 * generic table holding every kept row, for the fallback model.
 */
import { type Table, getStrings, takeRowGroups, takeRows } from '../table';

export type TrainUsers = 'all' | 'generic' | 'individual' | 'none';

export interface SplitOptions {
  entityColumn: string;
  includeGeneric: boolean;
  includeIndividual: boolean;
  skipEntities?: readonly string[];
  onlyEntities?: readonly string[];
}

export interface EntityBatch {
  /** Entity id; null for the generic batch over all entities. */
  entity: string | null;
  table: Table;
}

/** What `--train_users` means for the split (Morpheus semantics). */
export function splitModeFor(trainUsers: TrainUsers): {
  includeGeneric: boolean;
  includeIndividual: boolean;
} {
  return {
    includeGeneric: trainUsers === 'all' || trainUsers === 'generic',
    includeIndividual: trainUsers !== 'generic',
  };
}

/**
 * Entity batches in sorted entity order, the generic batch first. Rows keep
 * their order inside each batch.
 */
export function splitByEntity(table: Table, options: SplitOptions): EntityBatch[] {
  const ids = getStrings(table, options.entityColumn);
  const skip = new Set(options.skipEntities ?? []);
  const only = new Set(options.onlyEntities ?? []);

  const kept: number[] = [];
  const byEntity = new Map<string, number[]>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === null || skip.has(id)) continue;
    if (only.size > 0 && !only.has(id)) continue;
    kept.push(i);
    let rows = byEntity.get(id);
    if (!rows) byEntity.set(id, (rows = []));
    rows.push(i);
  }

  const out: EntityBatch[] = [];
  if (options.includeGeneric && kept.length > 0) {
    out.push({
      entity: null,
      table: kept.length === table.numRows ? table : takeRows(table, kept),
    });
  }
  if (options.includeIndividual) {
    const entities = [...byEntity.keys()].sort();
    const tables = takeRowGroups(
      table,
      entities.map((id) => byEntity.get(id) as number[]),
    );
    entities.forEach((id, i) => out.push({ entity: id, table: tables[i] }));
  }
  return out;
}
