// Decodes the B15 Azure records and a day-boundary window, printing the rows as
// JSON. Run by azure.test.ts under several TZ values; the output must not change.
const fs = require('node:fs');
const swc = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

const { decodeRecords, applyPreprocessSchema, parseTimestamp } = require('../../src/schema/engine');
const { getBuiltinSource } = require('../../src/schema/builtin');
const { rowObjects } = require('../../src/table');
const { b15Records } = require('./b15-records');

const azure = getBuiltinSource('azure');
const decoded = decodeRecords(b15Records(), azure, 'b15.json');
const features = applyPreprocessSchema(decoded.table, azure.preprocess);
process.stdout.write(
  JSON.stringify({
    offsetMinutes: new Date(2022, 7, 30).getTimezoneOffset(),
    parsed: ['2022-08-30T01:54:26', '8/30/2022 11:54:26 PM', '2022-08-30 23:30:00'].map(
      parseTimestamp,
    ),
    rows: rowObjects(features),
    rejects: decoded.rejects.length,
  }),
);
