/** Where rows go: files, Kafka topics (and later S3). */

export type SinkRow = Record<string, unknown>;

export interface RowSink {
  /** Writes rows; resolves only once they are durably accepted (file appended, broker ack). */
  write(rows: SinkRow[]): Promise<void>;
  /** Rows written so far. */
  readonly written: number;
  /** Where the rows went, for summaries. */
  readonly currentPath: string;
}
