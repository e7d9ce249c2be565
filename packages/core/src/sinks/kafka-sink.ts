/**
 * Detections (or dead letters) published to a Kafka topic. `write` resolves only
 * when the broker has acknowledged every message (acks=all), so a caller that
 * commits its input offsets afterwards gets at-least-once delivery.
 */
import type { Producer } from 'kafkajs';
import { DfpError, ErrorCodes } from '../errors';
import type { RowSink, SinkRow } from './types';

export interface KafkaSinkOptions {
  topic: string;
  /** Row field used as the message key (the entity id), so one entity stays on one partition. */
  keyField?: string;
  /** Extra headers per row (e.g. the error of a dead letter). */
  headers?: (row: SinkRow) => Record<string, string>;
  /**
   * Largest message value, in bytes (the broker's max.message.bytes, 1 MB by
   * default, less room for the key and headers). A longer row has its longest
   * text fields cut, with `dfp_truncated` naming them, rather than block its
   * partition with a message the broker refuses every time.
   */
  maxValueBytes?: number;
}

const KEEP_CHARS = 1024;

function serialize(row: SinkRow): string {
  return JSON.stringify(row, (_k, v: unknown) => (v === undefined ? null : v));
}

/** The row's JSON, with its longest text fields cut until it fits in `max` bytes. */
export function fitValue(row: SinkRow, max: number): string {
  let text = serialize(row);
  if (Buffer.byteLength(text) <= max) return text;
  const copy: SinkRow = { ...row };
  const cut: string[] = [];
  const longest = Object.entries(copy)
    .filter(([, v]) => typeof v === 'string' && v.length > KEEP_CHARS)
    .sort((a, b) => (b[1] as string).length - (a[1] as string).length);
  for (const [field, value] of longest) {
    const v = value as string;
    copy[field] = `${v.slice(0, KEEP_CHARS)}…[cut ${v.length - KEEP_CHARS} chars]`;
    cut.push(field);
    copy.dfp_truncated = cut;
    text = serialize(copy);
    if (Buffer.byteLength(text) <= max) return text;
  }
  return text;
}

export class KafkaSink implements RowSink {
  written = 0;

  constructor(
    private readonly producer: Producer,
    private readonly options: KafkaSinkOptions,
  ) {}

  get currentPath(): string {
    return `kafka:${this.options.topic}`;
  }

  async write(rows: SinkRow[]): Promise<void> {
    if (rows.length === 0) return;
    const { keyField, headers, topic } = this.options;
    try {
      await this.producer.send({
        topic,
        acks: -1,
        messages: rows.map((row) => ({
          key: keyField && row[keyField] != null ? String(row[keyField]) : null,
          value: fitValue(row, this.options.maxValueBytes ?? 900_000),
          headers: headers?.(row),
        })),
      });
    } catch (err) {
      throw new DfpError(
        ErrorCodes.SINK_WRITE_FAILED,
        `cannot publish to Kafka topic ${topic}: ${(err as Error).message}`,
        {
          cause: err,
          retriable: true,
        },
      );
    }
    this.written += rows.length;
  }
}
