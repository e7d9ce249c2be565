/** Where rows go: files, Kafka topics, S3 objects. */

export type SinkRow = Record<string, unknown>;

export interface RowSink {
  /**
   * Writes rows; resolves once they are durably accepted (file appended, broker
   * ack), except for sinks that buffer (S3), which do so on `flush`.
   */
  write(rows: SinkRow[]): Promise<void>;
  /** Makes everything written so far durable (one object per day for S3). */
  flush?(): Promise<void>;
  /** Rows written so far. */
  readonly written: number;
  /** Where the rows went, for summaries. */
  readonly currentPath: string;
}
