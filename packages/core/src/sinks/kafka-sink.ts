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
          value: JSON.stringify(row, (_k, v: unknown) => (v === undefined ? null : v)),
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
