/**
 * Duo authentication logs (Admin API v1/v2 `authlogs`). Follows the Morpheus
 * DFP Duo schema, with fixes: the time comes from `isotimestamp` (falling back to
 * the epoch `timestamp`), lowercase/titlecase `fraud` is a failure, and a result
 * outside the lists (e.g. "FAILURE") is reported and read as false, never true.
 */
import type { SourceDefinition } from '../types';

export const duo: SourceDefinition = {
  name: 'duo',
  description: 'Duo authentication logs (Admin API authlogs)',
  entityColumn: 'username',
  timestampColumn: 'timestamp',
  eventIdColumn: 'txid',
  features: [
    'accessdevicebrowser',
    'accessdeviceos',
    'authdevicename',
    'reason',
    'result',
    'locincrement',
    'logcount',
  ],
  input: {
    jsonColumns: ['access_device', 'application', 'auth_device', 'user'],
    columns: [
      { name: 'timestamp', kind: 'datetime', input: ['isotimestamp', 'timestamp'] },
      { name: 'username', kind: 'rename', type: 'string', input: 'user.name' },
      {
        name: 'accessdevicebrowser',
        kind: 'rename',
        type: 'string',
        input: 'access_device.browser',
      },
      { name: 'accessdeviceos', kind: 'rename', type: 'string', input: 'access_device.os' },
      {
        name: 'location',
        kind: 'string_cat',
        inputs: [
          'access_device.location.city',
          'access_device.location.state',
          'access_device.location.country',
        ],
        separator: ', ',
      },
      { name: 'authdevicename', kind: 'rename', type: 'string', input: 'auth_device.name' },
      {
        name: 'result',
        kind: 'bool',
        input: 'result',
        trueValues: ['success', 'SUCCESS'],
        falseValues: ['denied', 'DENIED', 'Denied', 'fraud', 'FRAUD', 'Fraud'],
      },
      { name: 'reason', kind: 'column', type: 'string' },
      { name: 'txid', kind: 'column', type: 'string' },
    ],
    // Authlog keys the model does not use (Duo's, plus `eventtype` and `host` that
    // duo_log_sync adds). `alias` is left out on purpose: it once arrived
    // unannounced and broke strict parsers, so it stays visible as drift.
    knownFields: [
      'adaptive_trust_assessments',
      'email',
      'event_type',
      'eventtype',
      'factor',
      'host',
      'ood_software',
      'trusted_endpoint_status',
    ],
  },
  preprocess: {
    columns: [
      { name: 'timestamp', kind: 'column', type: 'timestamp' },
      { name: 'username', kind: 'column', type: 'string' },
      { name: 'accessdevicebrowser', kind: 'column', type: 'string' },
      { name: 'accessdeviceos', kind: 'column', type: 'string' },
      { name: 'authdevicename', kind: 'column', type: 'string' },
      { name: 'result', kind: 'column', type: 'bool' },
      { name: 'reason', kind: 'column', type: 'string' },
      { name: 'logcount', kind: 'increment', input: 'timestamp', groupBy: 'username' },
      {
        name: 'locincrement',
        kind: 'distinct_increment',
        input: 'location',
        groupBy: 'username',
        timestampColumn: 'timestamp',
      },
    ],
    preserve: ['txid'],
  },
  period: null,
  training: { epochs: 30, validationSize: 0.1 },
};
