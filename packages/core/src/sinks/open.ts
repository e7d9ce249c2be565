/** The sink for an output location: a local CSV / JSON Lines file or an S3 prefix. */
import { isS3Uri } from '../sources/s3';
import type { S3Objects } from '../sources/s3';
import { FileSink } from './file-sink';
import { S3Sink, utcDay } from './s3-sink';
import type { RowSink, SinkRow } from './types';

export interface SinkTarget {
  /** A file path, or `s3://bucket/prefix/`. */
  path: string;
  /** Object name stem for S3 (`dfp-detections-duo`). */
  name: string;
  /** The row field holding its time, for the day partition of S3 objects. */
  timeOf: (row: SinkRow) => unknown;
}

export function openSink(target: SinkTarget, objects: () => S3Objects): RowSink {
  if (!isS3Uri(target.path)) return new FileSink(target.path);
  return new S3Sink(objects(), target.path, {
    name: target.name,
    // Rows without a time of their own (a file that could not be read) go under today.
    dayOf: (row) => utcDay(target.timeOf(row)) ?? utcDay(Date.now()),
  });
}
