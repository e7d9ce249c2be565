/**
 * The schema engine in one import: records to a typed table (input schema),
 * table to features (preprocessing schema), and the helpers both rest on.
 */
export { flattenRecord, compilePath } from './flatten';
export {
  type InputSchemaOptions,
  type SchemaResult,
  MAX_WARNINGS_PER_FIELD,
  applyInputSchema,
} from './input-schema';
export { applyPreprocessSchema } from './preprocess';
export { type DecodeOptions, decodeRecords } from './decode';
export {
  type CustomColumnContext,
  type CustomColumnFn,
  registerCustomColumn,
} from './custom-columns';
export { type TimestampParse, parseTimestamp, tryParseTimestamp } from './timestamps';
export { isMissing } from './values';
