import type { SourceDefinition } from './types';
import { type SchemaResult, applyInputSchema } from './input-schema';

export interface DecodeOptions {
  /** Index of the first record in its source. Default 0. */
  firstIndex?: number;
  /** Source index of each record (e.g. `ReadResult.indices`). */
  indices?: ArrayLike<number>;
  /** Add the origin columns (`origin_source`, `origin_record`) to every row. */
  origin?: boolean;
}

/** Where each row came from: the file (or topic/partition) and the record index in it. */
export const ORIGIN_COLUMNS = { source: 'origin_source', index: 'origin_record' } as const;

/**
 * Decodes raw records of one source: the input schema with the entity and
 * timestamp columns required, then rows sorted by timestamp (stable, so records
 * with equal times keep their file order).
 */
export function decodeRecords(
  records: readonly unknown[],
  source: SourceDefinition,
  sourceLabel: string,
  opts: DecodeOptions = {},
): SchemaResult {
  return applyInputSchema(records, source.input, {
    source: sourceLabel,
    firstIndex: opts.firstIndex,
    indices: opts.indices,
    ...(opts.origin ? { originColumns: ORIGIN_COLUMNS } : {}),
    requiredColumns: [source.entityColumn, source.timestampColumn],
    sortBy: source.timestampColumn,
  });
}
