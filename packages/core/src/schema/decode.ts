import type { SourceDefinition } from './types';
import { type SchemaResult, applyInputSchema } from './input-schema';

export interface DecodeOptions {
  /** Index of the first record in its source. Default 0. */
  firstIndex?: number;
  /** Source index of each record (e.g. `ReadResult.indices`). */
  indices?: ArrayLike<number>;
}

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
    requiredColumns: [source.entityColumn, source.timestampColumn],
    sortBy: source.timestampColumn,
  });
}
