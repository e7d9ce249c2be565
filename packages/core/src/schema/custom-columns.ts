/**
 * Registry of functions behind `custom` columns. A schema file names a function;
 * code registers it once at start, before any schema that uses it is loaded.
 */
import type { Cell } from '../table';
import { DfpError, ErrorCodes } from '../errors';
import type { CustomColumn } from './types';

/** What a custom column function sees: the whole batch, column by column. */
export interface CustomColumnContext {
  numRows: number;
  spec: CustomColumn;
  /**
   * Values of an input, one per row. In the input schema these are raw record
   * values at a dotted path (undefined when absent); in the preprocessing schema
   * they are the cells of a table column (null when missing or absent).
   */
  values(name: string): readonly unknown[];
}

/** Returns one value per row; the engine casts each to the column's type. */
export type CustomColumnFn = (ctx: CustomColumnContext) => ArrayLike<Cell | undefined>;

const registry = new Map<string, CustomColumnFn>();

/** Registers (or replaces) the function a `custom` column refers to by `name`. */
export function registerCustomColumn(name: string, fn: CustomColumnFn): void {
  if (name.trim() === '') throw new Error('custom column function needs a non-empty name');
  registry.set(name, fn);
}

export function hasCustomColumn(name: string): boolean {
  return registry.has(name);
}

export function getCustomColumn(name: string): CustomColumnFn {
  const fn = registry.get(name);
  if (!fn) {
    throw new DfpError(
      ErrorCodes.SCHEMA_INVALID,
      `custom column function "${name}" is not registered; call registerCustomColumn` +
        `("${name}", fn) before using a schema that refers to it`,
      { details: { function: name } },
    );
  }
  return fn;
}
