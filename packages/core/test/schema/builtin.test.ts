import { applyPreprocessSchema, decodeRecords } from '../../src/schema/engine';
import {
  CLOUDTRAIL_IDENTITY_PRECEDENCE,
  builtinSources,
  getBuiltinSource,
} from '../../src/schema/builtin';
import { checkSourceDefinition } from '../../src/schema/validate';
import { columnNames, getCells } from '../../src/table';

const cloudtrail = getBuiltinSource('cloudtrail')!;

describe('schema > builtin sources', () => {
  it.each(['duo', 'azure', 'cloudtrail'])('%s passes schema validation', (name) => {
    expect(checkSourceDefinition(builtinSources[name])).toEqual([]);
  });

  it('finds sources by name, ignoring case, and nothing else', () => {
    expect(getBuiltinSource('Duo')?.name).toBe('duo');
    expect(getBuiltinSource(' AZURE ')?.name).toBe('azure');
    expect(getBuiltinSource('okta')).toBeUndefined();
    expect(getBuiltinSource('toString')).toBeUndefined();
  });

  it('keeps the settings of each source', () => {
    const { duo, azure } = builtinSources;
    expect([duo.period, azure.period, cloudtrail.period]).toEqual([null, 'D', 'D']);
    expect(duo.training).toEqual({ epochs: 30, validationSize: 0.1 });
    expect(azure.training).toEqual({ epochs: 100, validationSize: 0.15 });
    expect(cloudtrail.training).toEqual({ epochs: 30, validationSize: 0.1 });
    expect(duo.features).toEqual([
      'accessdevicebrowser',
      'accessdeviceos',
      'authdevicename',
      'reason',
      'result',
      'locincrement',
      'logcount',
    ]);
    expect(azure.features).toHaveLength(9);
    expect([duo.eventIdColumn, azure.eventIdColumn, cloudtrail.eventIdColumn]).toEqual([
      'txid',
      'id',
      'eventID',
    ]);
  });

  it('is frozen so one caller cannot change a source for all', () => {
    expect(() => builtinSources.duo.features.push('x')).toThrow(TypeError);
  });
});

describe('schema > cloudtrail', () => {
  const base = {
    eventTime: '2024-07-31T12:46:41Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateUser',
    sourceIPAddress: '203.0.113.9',
  };
  const issuer = { sessionIssuer: { userName: 'deploy-role' } };

  it.each([
    ['IAM user name first', { userName: 'alice', arn: 'arn:user/alice', type: 'IAMUser' }, 'alice'],
    [
      'role behind an assumed-role session',
      {
        type: 'AssumedRole',
        arn: 'arn:sts::1:assumed-role/deploy-role/s1',
        sessionContext: issuer,
      },
      'deploy-role',
    ],
    [
      'ARN without names',
      { type: 'AssumedRole', arn: 'arn:sts::1:assumed-role/r/s' },
      'arn:sts::1:assumed-role/r/s',
    ],
    ['principal id', { type: 'Unknown', principalId: 'AIDAEXAMPLE' }, 'AIDAEXAMPLE'],
    [
      'invoking service',
      { type: 'AWSService', invokedBy: 'config.amazonaws.com' },
      'config.amazonaws.com',
    ],
    ['identity type', { type: 'AWSAccount' }, 'AWSAccount'],
    ['empty identity', {}, 'unknown-identity'],
    [
      'empty names skipped',
      { userName: '', sessionContext: { sessionIssuer: {} }, type: 'Root' },
      'Root',
    ],
    ['no userIdentity at all', undefined, 'unknown-identity'],
  ])('picks the entity by precedence: %s', (_case, userIdentity, expected) => {
    const rec = userIdentity === undefined ? base : { ...base, userIdentity };
    const { table, rejects } = decodeRecords([rec], cloudtrail, 'ct.json');
    expect(rejects).toEqual([]);
    expect(getCells(table, 'username')).toEqual([expected]);
  });

  it('documents the precedence it applies', () => {
    expect(CLOUDTRAIL_IDENTITY_PRECEDENCE[0]).toBe('userIdentity.userName');
    expect(CLOUDTRAIL_IDENTITY_PRECEDENCE.at(-1)).toBe('userIdentity.type');
  });

  it('takes @timestamp when eventTime is absent (Logstash export)', () => {
    const rec = { ...base, eventTime: undefined, '@timestamp': '2020-09-14T00:44:23.000Z' };
    const { table } = decodeRecords([rec], cloudtrail, 'otrf.jsonl');
    expect(getCells(table, 'timestamp')).toEqual([Date.UTC(2020, 8, 14, 0, 44, 23)]);
  });

  it('counts distinct source IPs per identity and UTC day', () => {
    const ips = ['1.1.1.1', '2.2.2.2', '1.1.1.1', '3.3.3.3'];
    const records = ips.map((ip, i) => ({
      ...base,
      eventTime: `2024-07-31T12:4${i}:00Z`,
      sourceIPAddress: ip,
      userIdentity: { userName: 'alice' },
    }));
    const decoded = decodeRecords(records, cloudtrail, 'ct.json').table;
    const features = applyPreprocessSchema(decoded, cloudtrail.preprocess);
    expect(getCells(features, 'locincrement')).toEqual([1, 2, 2, 3]);
    expect(getCells(features, 'logcount')).toEqual([0, 1, 2, 3]);
    for (const f of cloudtrail.features) expect(columnNames(features)).toContain(f);
  });
});
