/**
 * Every public sample in /work/shared/fixtures/public is read and decoded with
 * the matching built-in source; record counts follow SOURCES.md there, and every
 * reject is accounted for.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { applyPreprocessSchema, decodeRecords } from '../../src/schema/engine';
import { getBuiltinSource } from '../../src/schema/builtin';
import type { RecordReject } from '../../src/schema/types';
import { type FileLayout, readRecords } from '../../src/sources/files';
import { getCells, getStrings } from '../../src/table';

const ROOT = '/work/shared/fixtures/public';
const STRATUS = 'cloudtrail/stratus-red-team_detonation-logs';
const TRAILSCRAPER =
  'cloudtrail/trailscraper_111111111111_CloudTrail_eu-central-1_' +
  '20171211T1505Z_A6kvhMoVeCsc7v8U.json';

interface Expected {
  layout: FileLayout;
  records: number;
  /** Decode rejects by field. */
  rejects?: Record<string, number>;
}

/** Record counts of the Stratus Red Team detonation logs, one file per technique. */
const STRATUS_COUNTS: Record<string, number> = {
  'aws.credential-access.ec2-get-password-data.json': 34,
  'aws.credential-access.ec2-steal-instance-credentials.json': 45,
  'aws.credential-access.secretsmanager-batch-retrieve-secrets.json': 5,
  'aws.credential-access.secretsmanager-retrieve-secrets.json': 21,
  'aws.credential-access.ssm-retrieve-securestring-parameters.json': 10,
  'aws.defense-evasion.cloudtrail-delete.json': 1,
  'aws.defense-evasion.cloudtrail-event-selectors.json': 1,
  'aws.defense-evasion.cloudtrail-stop.json': 1,
  'aws.defense-evasion.dns-delete-logs.json': 1,
  'aws.defense-evasion.organizations-leave.json': 3,
  'aws.defense-evasion.vpc-remove-flow-logs.json': 1,
  'aws.discovery.ec2-download-user-data.json': 19,
  'aws.execution.ec2-launch-unusual-instances.json': 3,
  'aws.execution.ec2-user-data.json': 35,
  'aws.execution.ssm-send-command.json': 56,
  'aws.execution.ssm-start-session.json': 29,
  'aws.exfiltration.ec2-security-group-open-port-22-ingress.json': 1,
  'aws.exfiltration.ec2-share-ami.json': 1,
  'aws.exfiltration.ec2-share-ebs-snapshot.json': 1,
  'aws.exfiltration.rds-share-snapshot.json': 1,
  'aws.impact.bedrock-invoke-model.json': 15,
  'aws.initial-access.console-login-without-mfa.json': 1,
  'aws.lateral-movement.ec2-instance-connect.json': 3,
  'aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json': 4,
  'aws.persistence.iam-backdoor-role.json': 1,
  'aws.persistence.iam-backdoor-user.json': 1,
  'aws.persistence.iam-create-admin-user.json': 3,
  'aws.persistence.iam-create-backdoor-role.json': 2,
  'aws.persistence.iam-create-user-login-profile.json': 3,
  'aws.persistence.lambda-backdoor-function.json': 1,
  'aws.persistence.lambda-layer-extension.json': 1,
  'aws.persistence.lambda-overwrite-code.json': 1,
  'aws.persistence.rolesanywhere-create-trust-anchor.json': 2,
  'aws.persistence.sts-federation-token.json': 2,
  'aws.privilege-escalation.iam-update-user-login-profile.json': 1,
};

const EXPECTED: Record<string, Expected> = {
  'azure/entra-docs_sign-ins-log-schema_diagnostic-example.json': {
    layout: 'single-record',
    records: 1,
  },
  'azure/msgraph-docs_beta_signin-list_example1-response.json': {
    layout: 'graph-value',
    records: 1,
  },
  // 8 ServicePrincipalSignInLogs records have no user principal name.
  'azure/panther-analysis_rule-tests_azure-signinlogs.jsonl': {
    layout: 'json-lines',
    records: 26,
    rejects: { username: 8 },
  },
  'cloudtrail/otrf_ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl': {
    layout: 'json-lines',
    records: 103,
  },
  // 16 hand-written events have no eventTime, 2 have "..." or "redacted".
  'cloudtrail/panther-analysis_rule-tests_cloudtrail.jsonl': {
    layout: 'json-lines',
    records: 434,
    rejects: { timestamp: 18 },
  },
  'cloudtrail/panther-analysis_test-scenarios_cloudtrail.jsonl': {
    layout: 'json-lines',
    records: 27,
  },
  [TRAILSCRAPER]: { layout: 'cloudtrail-records', records: 2 },
  'duo/datadog-integrations-core_cisco-duo-tests_authlog-sample.json': {
    layout: 'single-record',
    records: 1,
  },
  'duo/duo_api_golang_logs-test_getAuthLogsResponse.json': { layout: 'duo-response', records: 1 },
  'duo/duo_log_sync_authlog-v2-response-objects.json': { layout: 'duo-pages', records: 1 },
  'duo/duo_log_sync_trust-monitor-surfaced_auth.json': { layout: 'single-record', records: 1 },
  // Rule-test records carry no timestamp at all.
  'duo/panther-analysis_rule-tests_duo-authlog.jsonl': {
    layout: 'json-lines',
    records: 10,
    rejects: { timestamp: 10 },
  },
};
for (const [name, records] of Object.entries(STRATUS_COUNTS)) {
  EXPECTED[`${STRATUS}/${name}`] = { layout: 'json-array', records };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listFiles(path);
    return name === 'SOURCES.md' ? [] : [relative(ROOT, path)];
  });
}

function countBy(rejects: RecordReject[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rejects) out[r.field ?? '(record)'] = (out[r.field ?? '(record)'] ?? 0) + 1;
  return out;
}

async function decodeFixture(file: string) {
  const source = getBuiltinSource(file.split('/')[0])!;
  const read = await readRecords(join(ROOT, file));
  const decoded = decodeRecords(read.records, source, file, { indices: read.indices });
  return { source, read, decoded };
}

const describeIf = existsSync(ROOT) ? describe : describe.skip;

describeIf('sources > public fixtures', () => {
  it('has an expectation for every file and a file for every expectation', () => {
    expect(listFiles(ROOT).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('reads and decodes %s', async (file, want) => {
    const { source, read, decoded } = await decodeFixture(file);

    expect(read.layout).toBe(want.layout);
    expect(read.records).toHaveLength(want.records);
    expect(read.rejects).toEqual([]);
    expect(countBy(decoded.rejects)).toEqual(want.rejects ?? {});
    expect(decoded.table.numRows + decoded.rejects.length).toBe(want.records);

    const features = applyPreprocessSchema(decoded.table, source.preprocess);
    for (const f of source.features) expect(getCells(features, f)).toHaveLength(features.numRows);
    expect(getStrings(decoded.table, 'username')).not.toContain(null);
  });

  it('counts the events per source given in SOURCES.md', async () => {
    const totals: Record<string, number> = {};
    let stratus = 0;
    for (const file of Object.keys(EXPECTED)) {
      const { read } = await decodeFixture(file);
      const src = file.split('/')[0];
      totals[src] = (totals[src] ?? 0) + read.records.length;
      if (file.startsWith(STRATUS)) stratus += read.records.length;
    }
    expect(totals).toEqual({ azure: 28, cloudtrail: 876, duo: 14 });
    expect(stratus).toBe(310);
  });

  it('explains the Panther CloudTrail rejects: 16 without eventTime, 2 placeholders', async () => {
    const { decoded } = await decodeFixture(
      'cloudtrail/panther-analysis_rule-tests_cloudtrail.jsonl',
    );
    const reasons = decoded.rejects.map((r) => r.reason);
    expect(
      reasons.filter((r) => r === 'missing: none of eventTime, @timestamp is present'),
    ).toHaveLength(16);
    expect(reasons.filter((r) => r.startsWith('unparseable eventTime')).sort()).toEqual([
      expect.stringContaining('unparseable eventTime "..."'),
      expect.stringContaining('unparseable eventTime "redacted"'),
    ]);
    const users = getStrings(decoded.table, 'username');
    expect(users.filter((u) => u === 'tester')).toHaveLength(53);
    expect(users.filter((u) => u === 'unknown-identity').length).toBeGreaterThan(0);
  });

  it('explains the Azure rejects: service-principal sign-ins without a user', async () => {
    const { decoded } = await decodeFixture(
      'azure/panther-analysis_rule-tests_azure-signinlogs.jsonl',
    );
    for (const r of decoded.rejects) {
      expect(r.reason).toBe(
        'missing: none of properties.userPrincipalName, userPrincipalName is present',
      );
      expect((r.record as { category: string }).category).toBe('ServicePrincipalSignInLogs');
    }
  });

  it('reads the OTRF Logstash export by @timestamp, with its three identities', async () => {
    const { decoded } = await decodeFixture(
      'cloudtrail/otrf_ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl',
    );
    const users = getStrings(decoded.table, 'username');
    expect(users.filter((u) => u === 'pedro')).toHaveLength(87);
    expect(new Set(users).size).toBe(3);
    const times = getCells(decoded.table, 'timestamp') as number[];
    expect(new Date(times[0]).toISOString()).toBe('2020-09-14T00:44:20.000Z');
  });

  it('decodes the Duo docs record exactly', async () => {
    const { decoded } = await decodeFixture(
      'duo/duo_api_golang_logs-test_getAuthLogsResponse.json',
    );
    expect(getCells(decoded.table, 'timestamp')).toEqual([Date.UTC(2018, 6, 30, 11, 59, 22)]);
    expect(getCells(decoded.table, 'location')).toEqual(['Ann Arbor, Michigan, United States']);
    expect(getCells(decoded.table, 'authdevicename')).toEqual(['My iPhone X (734-555-2342)']);
    expect(getCells(decoded.table, 'result')).toEqual([true]);
  });

  it('reads Duo fraud as a failure and flags alias as drift once per file', async () => {
    const { decoded } = await decodeFixture(
      'duo/datadog-integrations-core_cisco-duo-tests_authlog-sample.json',
    );
    expect(getCells(decoded.table, 'result')).toEqual([false]);
    expect(decoded.warnings.map((w) => w.message)).toEqual(['unknown fields: alias']);
  });
});
