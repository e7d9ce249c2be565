/**
 * The error catalogue. Every error the pipeline raises on purpose has a code
 * `DFP_ERR_<AREA>_<PROBLEM>`, a message that names what was wrong (file, record,
 * field, option) and says what to do, and says whether retrying can help.
 */

export const ErrorCodes = {
  CONFIG_INVALID: 'DFP_ERR_CONFIG_INVALID',
  INPUT_NO_FILES: 'DFP_ERR_INPUT_NO_FILES',
  INPUT_UNREADABLE: 'DFP_ERR_INPUT_UNREADABLE',
  INPUT_MALFORMED: 'DFP_ERR_INPUT_MALFORMED',
  RECORD_INVALID: 'DFP_ERR_RECORD_INVALID',
  SCHEMA_INVALID: 'DFP_ERR_SCHEMA_INVALID',
  WINDOW_INVALID: 'DFP_ERR_WINDOW_INVALID',
  MODEL_BACKEND_UNAVAILABLE: 'DFP_ERR_MODEL_BACKEND_UNAVAILABLE',
  MODEL_NON_FINITE: 'DFP_ERR_MODEL_NON_FINITE',
  MODEL_INVALID: 'DFP_ERR_MODEL_INVALID',
  MODEL_TRAINING_FAILED: 'DFP_ERR_MODEL_TRAINING_FAILED',
  STORE_NOT_FOUND: 'DFP_ERR_STORE_NOT_FOUND',
  STORE_UNREADABLE: 'DFP_ERR_STORE_UNREADABLE',
  STORE_UNSUPPORTED: 'DFP_ERR_STORE_UNSUPPORTED',
  SINK_WRITE_FAILED: 'DFP_ERR_SINK_WRITE_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface DfpErrorOptions {
  /** True when the same call may succeed later (network, busy server). */
  retriable?: boolean;
  cause?: unknown;
  /** Structured context for logs: file, record index, field, entity, feature... */
  details?: Record<string, unknown>;
}

export class DfpError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: DfpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DfpError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}

export function isDfpError(err: unknown, code?: ErrorCode): err is DfpError {
  return err instanceof DfpError && (code === undefined || err.code === code);
}

/** The message of any thrown value, for logs and reports. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
