// The AWS API calls the synthetic account sees, with request/response bodies shaped like the
// ones CloudTrail records. `build(world, rng, tMs)` returns the call-specific parts.

import { streamFor } from './random.mjs';
import { cloudTrailLongDate, HOUR_MS, isoSeconds } from './time.mjs';

export const ACCOUNT_ID = '123456789012';
export const HOME_REGION = 'us-east-1';
export const OTHER_REGIONS = [
  'us-east-2',
  'us-west-1',
  'eu-west-1',
  'eu-central-1',
  'ap-southeast-1',
  'ap-northeast-1',
  'sa-east-1',
];
const EXTERNAL_ACCOUNT = '210987654321';

/** Named resources of the account; identical for every source run with the same seed. */
export function buildWorld(seed) {
  const rng = streamFor(seed, 'cloudtrail/world');
  const ids = (prefix, count) => Array.from({ length: count }, () => `${prefix}-0${rng.hex(16)}`);
  const functions = [
    'orders-api',
    'image-resize',
    'nightly-report',
    'auth-callback',
    'billing-sync',
  ];
  return {
    buckets: [
      'data-lake-raw',
      'data-lake-curated',
      'app-assets',
      'build-artifacts',
      'logs-archive',
      'finance-reports',
      'backups',
    ].map((name) => `examplecorp-${name}`),
    sensitiveBucket: 'examplecorp-finance-reports',
    instances: ids('i', 12),
    images: ids('ami', 3),
    volumes: ids('vol', 6),
    snapshots: ids('snap', 4),
    securityGroups: ids('sg', 5),
    functions,
    stacks: ['core-network', 'orders-service', 'data-pipeline', 'monitoring'],
    logGroups: [...functions.map((f) => `/aws/lambda/${f}`), '/ecs/orders-service'],
    cluster: 'prod',
    services: ['orders-service', 'web-frontend'],
    glueJobs: ['daily-orders-etl', 'customer-dedupe'],
    tables: ['orders', 'customers', 'events'],
    secrets: ['prod/orders/db', 'prod/payments/api-key', 'ci/github-token'],
    parameters: ['/prod/orders/feature-flags', '/prod/web/config'],
    roles: ['ReadOnlyAccess', 'DeployRole', 'DataAnalyst'],
    kmsKey: rng.uuid(),
  };
}

const arn = (service, resource, region = '') =>
  `arn:aws:${service}:${region}:${ACCOUNT_ID}:${resource}`;
const items = (list) => ({ items: list });
const empty = () => null;

/** name -> { source, readOnly, global, build } */
export const APIS = {
  'ec2:DescribeInstances': ec2(true, (w, r) =>
    r.chance(0.6)
      ? { instancesSet: {}, filterSet: {} }
      : { instancesSet: items([{ instanceId: r.pick(w.instances) }]), filterSet: {} },
  ),
  'ec2:DescribeSecurityGroups': ec2(true, () => ({
    securityGroupSet: {},
    securityGroupIdSet: {},
    filterSet: {},
  })),
  'ec2:DescribeVolumes': ec2(true, () => ({
    volumeSet: {},
    filterSet: items([{ name: 'tag:Backup', valueSet: items([{ value: 'daily' }]) }]),
  })),
  'ec2:DescribeImages': ec2(true, () => ({
    executableBySet: {},
    imagesSet: {},
    ownersSet: items([{ owner: 'self' }]),
    filterSet: {},
  })),
  'ec2:DescribeSnapshots': ec2(true, () => ({
    snapshotSet: {},
    ownersSet: items([{ owner: 'self' }]),
    maxResults: 1000,
    filterSet: {},
  })),
  'ec2:DescribeRegions': ec2(true, () => ({ regionSet: {}, allRegions: true })),
  'ec2:CreateSnapshot': ec2(false, (w, r, tMs) => {
    const volumeId = r.pick(w.volumes);
    return {
      params: { volumeId, description: 'scheduled backup' },
      response: {
        requestId: r.uuid(),
        snapshotId: `snap-0${r.hex(16)}`,
        volumeId,
        status: 'pending',
        startTime: tMs,
        progress: '',
        ownerId: ACCOUNT_ID,
        volumeSize: 100,
        encrypted: true,
      },
    };
  }),
  'ec2:StartInstances': ec2(false, (w, r) => instanceStateChange(w, r, 'pending', 'stopped')),
  'ec2:StopInstances': ec2(false, (w, r) => instanceStateChange(w, r, 'stopping', 'running')),
  'ec2:RunInstances': ec2(false, (w, r) => {
    const imageId = r.pick(w.images);
    const groupId = r.pick(w.securityGroups);
    const instanceType = r.pick(['t3.medium', 't3.large', 'm5.large']);
    return {
      params: {
        instancesSet: items([{ imageId, minCount: 1, maxCount: 1 }]),
        groupSet: items([{ groupId }]),
        instanceType,
        blockDeviceMapping: {},
        monitoring: { enabled: false },
        disableApiTermination: false,
        clientToken: r.uuid(),
        ebsOptimized: false,
      },
      response: {
        requestId: r.uuid(),
        reservationId: `r-0${r.hex(16)}`,
        ownerId: ACCOUNT_ID,
        groupSet: {},
        instancesSet: items([
          {
            instanceId: `i-0${r.hex(16)}`,
            imageId,
            instanceState: { code: 0, name: 'pending' },
            instanceType,
          },
        ]),
      },
    };
  }),
  'ec2:ModifySnapshotAttribute': ec2(false, (w, r) => ({
    params: {
      snapshotId: r.pick(w.snapshots),
      createVolumePermission: { add: items([{ userId: EXTERNAL_ACCOUNT }]) },
      attributeType: 'CREATE_VOLUME_PERMISSION',
    },
    response: { requestId: r.uuid(), _return: true },
  })),
  's3:ListBuckets': globalApi('s3', true, () => ({ Host: 's3.amazonaws.com' })),
  's3:GetBucketLocation': api('s3', true, (w, r) =>
    bucketParams(r.pick(w.buckets), { location: '' }),
  ),
  's3:GetBucketPolicy': api('s3', true, (w, r) => bucketParams(r.pick(w.buckets), { policy: '' })),
  's3:GetBucketAcl': api('s3', true, (w, r) => bucketParams(r.pick(w.buckets), { acl: '' })),
  'lambda:ListFunctions20150331': api('lambda', true, empty),
  'lambda:GetFunction20150331v2': api('lambda', true, (w, r) => ({
    functionName: r.pick(w.functions),
  })),
  'lambda:UpdateFunctionCode20150331v2': api('lambda', false, (w, r, tMs) => {
    const functionName = r.pick(w.functions);
    return {
      params: { functionName, publish: false, dryRun: false },
      response: {
        functionName,
        functionArn: arn('lambda', `function:${functionName}`, 'us-east-1'),
        runtime: 'python3.9',
        codeSize: r.int(20_000, 900_000),
        lastModified: isoSeconds(tMs),
        state: 'Active',
        lastUpdateStatus: 'InProgress',
      },
    };
  }),
  'logs:DescribeLogStreams': api('logs', true, (w, r) => ({
    logGroupName: r.pick(w.logGroups),
    orderBy: 'LastEventTime',
    descending: true,
  })),
  'cloudformation:DescribeStacks': api('cloudformation', true, (w, r) => ({
    stackName: r.pick(w.stacks),
  })),
  'cloudformation:DescribeStackEvents': api('cloudformation', true, (w, r) => ({
    stackName: r.pick(w.stacks),
  })),
  'sts:GetCallerIdentity': globalApi('sts', true, empty),
  'sts:AssumeRole': globalApi('sts', false, (w, r, tMs, identity) => {
    const role = r.pick(w.roles);
    const session = identity?.userName ?? 'session';
    const roleId = `AROA${streamFor('roles', role).upperAlnum(17)}`;
    return {
      params: {
        roleArn: arn('iam', `role/${role}`),
        roleSessionName: session,
        durationSeconds: 3600,
      },
      response: {
        credentials: {
          accessKeyId: `ASIA${r.upperAlnum(16)}`,
          sessionToken: r.base62(40),
          expiration: cloudTrailLongDate(tMs + HOUR_MS),
        },
        assumedRoleUser: {
          assumedRoleId: `${roleId}:${session}`,
          arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${role}/${session}`,
        },
      },
    };
  }),
  'ecr:GetAuthorizationToken': api('ecr', true, empty),
  'ecs:DescribeServices': api('ecs', true, (w) => ({
    cluster: w.cluster,
    services: w.services,
    include: [],
  })),
  'ecs:UpdateService': api('ecs', false, (w, r) => ({
    params: { cluster: w.cluster, service: r.pick(w.services), forceNewDeployment: true },
    response: null,
  })),
  'ssm:GetParameter': api('ssm', true, (w, r) => ({
    name: r.pick(w.parameters),
    withDecryption: true,
  })),
  'secretsmanager:DescribeSecret': api('secretsmanager', true, (w, r) => ({
    secretId: r.pick(w.secrets),
  })),
  'secretsmanager:GetSecretValue': api('secretsmanager', true, (w, r) => ({
    secretId: r.pick(w.secrets),
  })),
  'secretsmanager:ListSecrets': api('secretsmanager', true, () => ({ maxResults: 100 })),
  'kms:Decrypt': api('kms', true, (w) => ({
    encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    keyId: arn('kms', `key/${w.kmsKey}`, 'us-east-1'),
  })),
  'cloudwatch:GetMetricData': api('monitoring', true, (w, r, tMs) => ({
    metricDataQueries: [
      {
        id: 'm1',
        metricStat: {
          metric: { namespace: 'AWS/EC2', metricName: r.pick(['CPUUtilization', 'NetworkOut']) },
          period: 300,
          stat: 'Average',
        },
      },
    ],
    startTime: isoSeconds(tMs - 3 * HOUR_MS),
    endTime: isoSeconds(tMs),
  })),
  'cloudwatch:DescribeAlarms': api('monitoring', true, () => ({ maxRecords: 100 })),
  'autoscaling:DescribeAutoScalingGroups': api('autoscaling', true, () => ({ maxRecords: 100 })),
  'athena:StartQueryExecution': api('athena', false, (w, r) => ({
    params: {
      queryString: `SELECT * FROM analytics.${r.pick(w.tables)} LIMIT ${r.pick([10, 100, 1000])}`,
      clientRequestToken: r.uuid(),
      queryExecutionContext: { database: 'analytics' },
      workGroup: 'primary',
    },
    response: { queryExecutionId: r.uuid() },
  })),
  'athena:GetQueryExecution': api('athena', true, (w, r) => ({ queryExecutionId: r.uuid() })),
  'glue:GetTable': api('glue', true, (w, r) => ({
    databaseName: 'analytics',
    name: r.pick(w.tables),
  })),
  'glue:StartJobRun': api('glue', false, (w, r) => ({
    params: { jobName: r.pick(w.glueJobs) },
    response: { jobRunId: `jr_${r.hex(64)}` },
  })),
  'glue:GetJobRun': api('glue', true, (w, r) => ({
    jobName: r.pick(w.glueJobs),
    runId: `jr_${r.hex(64)}`,
    predecessorsIncluded: false,
  })),
  'ce:GetCostAndUsage': globalApi('ce', true, (w, r, tMs) => ({
    timePeriod: {
      start: isoSeconds(tMs - 30 * 24 * HOUR_MS).slice(0, 10),
      end: isoSeconds(tMs).slice(0, 10),
    },
    granularity: r.pick(['DAILY', 'MONTHLY']),
    metrics: ['UnblendedCost'],
  })),
  'ce:GetCostForecast': globalApi('ce', true, () => ({
    metric: 'UNBLENDED_COST',
    granularity: 'MONTHLY',
  })),
  'support:DescribeCases': globalApi('support', true, () => ({ includeResolvedCases: false })),
  'iam:ListUsers': globalApi('iam', true, () => ({ maxItems: 100 })),
  'iam:ListRoles': globalApi('iam', true, () => ({ maxItems: 1000 })),
  'iam:GetUser': globalApi('iam', true, (w, r, tMs, identity) => ({
    userName: identity?.userName,
  })),
  'iam:ListAttachedUserPolicies': globalApi('iam', true, (w, r, tMs, identity) => ({
    userName: identity?.userName,
  })),
  'iam:GetAccountAuthorizationDetails': globalApi('iam', true, () => ({
    filter: ['User', 'Role', 'Group', 'LocalManagedPolicy'],
  })),
  'iam:CreateUser': globalApi('iam', false, (w, r, tMs, identity, target) => ({
    params: { userName: target },
    response: {
      user: {
        path: '/',
        userName: target,
        userId: `AIDA${r.upperAlnum(17)}`,
        arn: arn('iam', `user/${target}`),
        createDate: cloudTrailLongDate(tMs),
      },
    },
  })),
  'iam:AttachUserPolicy': globalApi('iam', false, (w, r, tMs, identity, target) => ({
    params: { userName: target, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    response: null,
  })),
  'iam:CreateAccessKey': globalApi('iam', false, (w, r, tMs, identity, target) => ({
    params: { userName: target },
    response: {
      accessKey: {
        userName: target,
        accessKeyId: `AKIA${r.upperAlnum(16)}`,
        status: 'Active',
        createDate: cloudTrailLongDate(tMs),
      },
    },
  })),
  'iam:CreateLoginProfile': globalApi('iam', false, (w, r, tMs, identity, target) => ({
    params: { userName: target, passwordResetRequired: false },
    response: {
      loginProfile: {
        userName: target,
        createDate: cloudTrailLongDate(tMs),
        passwordResetRequired: false,
      },
    },
  })),
  'iam:PutUserPolicy': globalApi('iam', false, (w, r, tMs, identity, target) => ({
    params: {
      userName: target,
      policyName: 'inline-admin',
      policyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    },
    response: null,
  })),
  'organizations:DescribeOrganization': globalApi('organizations', true, empty),
  'rds:DescribeDBInstances': api('rds', true, empty),
  'guardduty:ListDetectors': api('guardduty', true, () => ({ maxResults: 50 })),
  'cloudtrail:DescribeTrails': api('cloudtrail', true, () => ({
    trailNameList: [],
    includeShadowTrails: true,
  })),
};

function api(service, readOnly, build, global = false) {
  const source = `${service}.amazonaws.com`;
  return { source, service, readOnly, global, build };
}

function globalApi(service, readOnly, build) {
  return api(service, readOnly, build, true);
}

function ec2(readOnly, build) {
  return api('ec2', readOnly, build);
}

function bucketParams(bucketName, extra) {
  return { bucketName, Host: `${bucketName}.s3.amazonaws.com`, ...extra };
}

function instanceStateChange(world, rng, current, previous) {
  const instanceId = rng.pick(world.instances);
  const codes = { pending: 0, running: 16, stopping: 64, stopped: 80 };
  return {
    params: { instancesSet: items([{ instanceId }]) },
    response: {
      requestId: rng.uuid(),
      instancesSet: items([
        {
          instanceId,
          currentState: { code: codes[current], name: current },
          previousState: { code: codes[previous], name: previous },
        },
      ]),
    },
  };
}

/** Calls `build` and splits its result into request parameters and response elements. */
export function buildCall(name, world, rng, tMs, identity, target) {
  const spec = APIS[name];
  if (!spec) throw new Error(`unknown API ${name}`);
  const built = spec.build(world, rng, tMs, identity, target);
  const split = built && typeof built === 'object' && 'params' in built;
  return {
    spec,
    eventName: name.split(':')[1],
    requestParameters: split ? built.params : built,
    responseElements: split ? built.response : null,
  };
}
