/** Synthetic auth-log tables for the model tests. */
import { type ColumnData, type Table, makeTable } from '../../src/table';
import { createRng } from '../../src/model';

const BROWSERS = ['Chrome', 'Edge', 'Firefox', 'Safari', 'Opera'];
const OSES = ['Windows', 'macOS', 'Linux', 'iOS', 'Android'];
const CITIES = Array.from({ length: 12 }, (_, i) => `city-${i}`);

/**
 * `rows` rows of 7 features like a Duo user: logcount/locincrement/appincrement
 * (int), success (bool), browser/os/location (string). The OS follows the
 * browser most of the time, so there is structure to learn.
 */
export function authTable(rows: number, seed = 1): Table {
  const rng = createRng(seed, 99);
  const logcount = new Array<number>(rows);
  const locincrement = new Array<number>(rows);
  const appincrement = new Array<number>(rows);
  const success = new Array<boolean>(rows);
  const browser = new Array<string>(rows);
  const os = new Array<string>(rows);
  const location = new Array<string>(rows);
  for (let r = 0; r < rows; r++) {
    logcount[r] = r % 40;
    locincrement[r] = 1 + rng.int(3);
    appincrement[r] = 1 + rng.int(5);
    success[r] = rng.next() < 0.9;
    const b = rng.int(BROWSERS.length);
    browser[r] = BROWSERS[b];
    os[r] = rng.next() < 0.9 ? OSES[b] : OSES[rng.int(OSES.length)];
    location[r] = CITIES[rng.int(CITIES.length)];
  }
  return makeTable([
    { name: 'logcount', type: 'int', values: logcount },
    { name: 'locincrement', type: 'int', values: locincrement },
    { name: 'appincrement', type: 'int', values: appincrement },
    { name: 'success', type: 'bool', values: success },
    { name: 'browser', type: 'string', values: browser },
    { name: 'os', type: 'string', values: os },
    { name: 'location', type: 'string', values: location },
  ]);
}

export const AUTH_FEATURES = [
  'logcount',
  'locincrement',
  'appincrement',
  'success',
  'browser',
  'os',
  'location',
];

export function column(columns: ColumnData[], name: string): ColumnData {
  const found = columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column ${name} in ${columns.map((c) => c.name).join(', ')}`);
  return found;
}

export function numbers(columns: ColumnData[], name: string): number[] {
  return Array.from(column(columns, name).values as ArrayLike<number>);
}
