// AWS CloudTrail management (and a few S3 data) events, delivered the way a trail writes them
// to S3: gzipped {"Records":[...]} objects named <account>_CloudTrail_<region>_<stamp>_<id>.

import { awsCliUserAgent, browserUserAgent } from './agents.mjs';
import { benignKind, hostileOrigin, oddHourStart, sameDayStart } from './activity.mjs';
import { AWS_ASN, BROWSER_VERSIONS } from './catalog.mjs';
import {
  ACCOUNT_ID,
  APIS,
  buildCall,
  buildWorld,
  HOME_REGION,
  OTHER_REGIONS,
} from './cloudtrail-apis.mjs';
import { addressIn } from './people.mjs';
import { streamFor } from './random.mjs';
import { DAY_MS, HOUR_MS, isoSeconds, MINUTE_MS } from './time.mjs';

const SERVICE_SHARE = 0.2;
const SECONDARY_REGION = 'us-west-2';
const CLI_VERSIONS = ['2.7.14', '2.7.16', '2.7.18'];
const ROLLOUT_CLI_VERSION = '2.7.24';
const ERROR_RATE = 0.015;
const ROLE_KEY_LIFETIME_MS = 6 * HOUR_MS;
const TLS = { tlsVersion: 'TLSv1.2', cipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256' };
// A new laptop reports a newer kernel (and Apple silicon for Macs) in the CLI user agent.
const NEW_KERNELS = { mac: 'Darwin/22.1.0', windows: 'Windows/11', linux: 'Linux/5.19.0-1-amd64' };

const PROFILES = {
  developer: {
    'lambda:ListFunctions20150331': 2,
    'lambda:GetFunction20150331v2': 3,
    'lambda:UpdateFunctionCode20150331v2': 1,
    'logs:DescribeLogStreams': 3,
    'cloudformation:DescribeStacks': 2,
    'cloudformation:DescribeStackEvents': 1,
    'ec2:DescribeInstances': 2,
    'ecr:GetAuthorizationToken': 1,
    'sts:GetCallerIdentity': 1,
    'ssm:GetParameter': 1,
    'ecs:DescribeServices': 1,
    'ecs:UpdateService': 0.5,
  },
  data: {
    'athena:StartQueryExecution': 4,
    'athena:GetQueryExecution': 5,
    'glue:GetTable': 2,
    'glue:StartJobRun': 1,
    'glue:GetJobRun': 2,
    's3:ListBuckets': 1,
    's3:GetBucketLocation': 1,
    'sts:GetCallerIdentity': 1,
  },
  ops: {
    'ec2:DescribeInstances': 4,
    'ec2:DescribeSecurityGroups': 2,
    'ec2:StartInstances': 1,
    'ec2:StopInstances': 1,
    'ec2:RunInstances': 0.4,
    'ec2:DescribeImages': 1,
    'cloudwatch:GetMetricData': 2,
    'autoscaling:DescribeAutoScalingGroups': 2,
    'sts:AssumeRole': 1,
    'cloudtrail:DescribeTrails': 0.3,
  },
  finance: {
    'ce:GetCostAndUsage': 5,
    'ce:GetCostForecast': 2,
    's3:ListBuckets': 1,
    'athena:StartQueryExecution': 1,
    'athena:GetQueryExecution': 1,
  },
  viewer: {
    'cloudwatch:GetMetricData': 3,
    'cloudwatch:DescribeAlarms': 2,
    'ec2:DescribeInstances': 1,
    's3:ListBuckets': 1,
    'support:DescribeCases': 1,
  },
};

const DEPARTMENT_PROFILES = {
  Engineering: 'developer',
  'Data Platform': 'data',
  'IT Operations': 'ops',
  Finance: 'finance',
};

// Technical profiles mostly use the CLI; the others mostly click through the console.
const CONSOLE_SHARE = {
  developer: [0.1, 0.35],
  data: [0.2, 0.4],
  ops: [0.15, 0.4],
  finance: [0.85, 1],
  viewer: [0.85, 1],
};

const SERVICE_ROLES = [
  {
    role: 'backup-orchestrator',
    runtime: 'lambda',
    sequence: ['ec2:DescribeVolumes', 'ec2:CreateSnapshot'],
  },
  {
    role: 'metrics-collector',
    runtime: 'ec2',
    sequence: ['cloudwatch:GetMetricData', 'ec2:DescribeInstances'],
  },
  {
    role: 'gitlab-ci-deployer',
    runtime: 'ci',
    sequence: ['sts:GetCallerIdentity', 'ecr:GetAuthorizationToken', 'ecs:DescribeServices'],
  },
  {
    role: 'orders-etl',
    runtime: 'glue',
    sequence: ['glue:GetTable', 'athena:StartQueryExecution', 'athena:GetQueryExecution'],
  },
  {
    role: 'secrets-rotation',
    runtime: 'lambda',
    sequence: ['secretsmanager:DescribeSecret', 'kms:Decrypt'],
  },
  { role: 'cost-reporter', runtime: 'lambda', sequence: ['ce:GetCostAndUsage'] },
];

const RUNTIME_AGENTS = {
  lambda:
    'Boto3/1.20.32 Python/3.9.13 Linux/4.14.255-276-224.499.amzn2.x86_64 ' +
    'exec-env/AWS_Lambda_python3.9 Botocore/1.23.32',
  ec2: 'aws-sdk-go/1.44.60 (go1.18.4; linux; amd64)',
  ci: 'aws-cli/2.7.20 Python/3.9.11 Linux/5.4.0-1083-aws exe/x86_64 prompt/off',
  glue:
    'aws-sdk-java/1.12.261 Linux/5.10.130-118.517.amzn2.x86_64 ' +
    'OpenJDK_64-Bit_Server_VM/11.0.16+8-LTS java/11.0.16 vendor/Amazon.com_Inc.',
};

const ATTACKER_AGENTS = [
  'aws-cli/1.18.69 Python/3.8.10 Linux/5.18.0-kali5-amd64 botocore/1.17.52',
  'Boto3/1.17.112 Python/3.8.10 Linux/5.4.0-121-generic Botocore/1.20.112',
  'python-requests/2.28.1',
];

const ESCALATION_STEPS = [
  'sts:GetCallerIdentity',
  'iam:ListAttachedUserPolicies',
  'iam:CreateUser',
  'iam:AttachUserPolicy',
  'iam:CreateAccessKey',
  'iam:CreateLoginProfile',
  'iam:PutUserPolicy',
  'iam:ListUsers',
  'iam:GetUser',
];
const RECON_CALLS = [
  'sts:GetCallerIdentity',
  's3:ListBuckets',
  'iam:ListUsers',
  'iam:ListRoles',
  'iam:GetAccountAuthorizationDetails',
  'ec2:DescribeInstances',
  'ec2:DescribeRegions',
  'secretsmanager:ListSecrets',
  'rds:DescribeDBInstances',
  'lambda:ListFunctions20150331',
  'guardduty:ListDetectors',
  'cloudtrail:DescribeTrails',
  's3:GetBucketPolicy',
  's3:GetBucketAcl',
  'ec2:DescribeSnapshots',
  'organizations:DescribeOrganization',
  'ec2:DescribeSecurityGroups',
];
const MISUSE_CALLS = [
  'sts:GetCallerIdentity',
  's3:ListBuckets',
  'secretsmanager:ListSecrets',
  'secretsmanager:GetSecretValue',
  'ec2:DescribeInstances',
  'iam:ListRoles',
  'secretsmanager:GetSecretValue',
  'ssm:GetParameter',
];
const BACKDOOR_USERS = ['svc-backup2', 'support-admin', 'aws-health-check', 'ops-temp'];

const isHuman = (entity) => entity.kind === 'human';
const isService = (entity) => entity.kind === 'service';

export const cloudTrailSource = {
  name: 'cloudtrail',
  title: 'CloudTrail',
  format: 'cloudtrail',
  burstFollow: 0.5,
  accountId: ACCOUNT_ID,
  homeRegion: HOME_REGION,
  buildEntities,
  renderMoment,
  incidentKinds: [
    { kind: 'privilege_escalation', size: [6, 9], eligible: isHuman, render: escalation },
    { kind: 'recon', size: [12, 18], eligible: isHuman, render: recon },
    { kind: 'exfiltration', size: [10, 16], eligible: isHuman, render: exfiltration },
    { kind: 'role_credential_misuse', size: [4, 8], eligible: isService, render: misuse },
  ],
};

function buildEntities(people, seed, count) {
  const world = buildWorld(seed);
  const services = Math.min(Math.max(1, Math.round(count * SERVICE_SHARE)), count - 1);
  const humans = people.slice(0, count - services).map((person) => human(person, seed, world));
  const roles = Array.from({ length: services }, (_, i) => service(i, seed, world));
  return [...humans, ...roles];
}

function human(person, seed, world) {
  const rng = streamFor(seed, `cloudtrail/entity/${person.index}`);
  const profile = DEPARTMENT_PROFILES[person.department] ?? 'viewer';
  const names = Object.keys(PROFILES[profile]);
  const chosen = rng.sample(names, rng.int(Math.min(5, names.length), names.length));
  return {
    kind: 'human',
    id: person.login,
    keySeed: `${seed}/${person.login}`,
    person,
    world,
    profile,
    apis: chosen.map((name) => [name, PROFILES[profile][name] * rng.float(0.5, 1.5)]),
    consoleShare: rng.float(...CONSOLE_SHARE[profile]),
    westShare: rng.chance(0.4) ? rng.float(0.05, 0.3) : 0,
    cliVersion: rng.pick(CLI_VERSIONS),
    principalId: `AIDA${rng.upperAlnum(17)}`,
    accessKeyId: `AKIA${rng.upperAlnum(16)}`,
    arn: `arn:aws:iam::${ACCOUNT_ID}:user/${person.login}`,
    lastConsoleDay: null,
  };
}

function service(index, seed, world) {
  const template = SERVICE_ROLES[index % SERVICE_ROLES.length];
  const cycle = Math.floor(index / SERVICE_ROLES.length);
  const role = cycle === 0 ? template.role : `${template.role}-${cycle + 1}`;
  const rng = streamFor(seed, `cloudtrail/role/${role}`);
  const roleId = `AROA${rng.upperAlnum(17)}`;
  return {
    kind: 'service',
    id: role,
    keySeed: `${seed}/${role}`,
    world,
    role,
    roleId,
    session: template.runtime === 'ec2' ? `i-0${rng.hex(16)}` : role,
    runtime: template.runtime,
    sequence: template.sequence,
    address: addressIn(rng, [AWS_ASN]),
    userAgent: RUNTIME_AGENTS[template.runtime],
  };
}

function renderMoment(moment, rng) {
  return isService(moment.entity) ? renderServiceCall(moment, rng) : renderHumanCall(moment, rng);
}

function renderServiceCall(moment, rng) {
  const { entity, tMs } = moment;
  const name = entity.sequence[moment.step];
  const identity = roleIdentity(entity, tMs);
  const item = apiEvent(rng, {
    entity,
    tMs,
    name,
    identity,
    region: HOME_REGION,
    ip: entity.address.ip,
    userAgent: entity.userAgent,
    error: rng.chance(ERROR_RATE / 2) ? throttled() : null,
  });
  return { ...item, kind: 'normal' };
}

function renderHumanCall(moment, rng) {
  const { entity, tMs } = moment;
  const laptop = moment.newDevice ? entity.person.newLaptop : entity.person.laptop;
  const viaConsole = rng.chance(entity.consoleShare);
  const localDay = Math.floor((tMs + moment.place.tz * HOUR_MS) / DAY_MS);
  if (viaConsole && entity.lastConsoleDay !== localDay) {
    entity.lastConsoleDay = localDay;
    entity.consoleLoginMs = tMs;
    const item = consoleLogin(rng, entity, tMs, moment.address.ip, laptop, moment.rolloutAdopted);
    return { ...item, kind: benignKind(moment, { usedNewDevice: false, usedRollout: false }) };
  }
  const name = rng.weighted(entity.apis);
  const spec = APIS[name];
  const region = spec.global || !rng.chance(entity.westShare) ? HOME_REGION : SECONDARY_REGION;
  const userAgent = viaConsole
    ? 'console.amazonaws.com'
    : awsCliUserAgent(cliLaptop(laptop, moment.newDevice), cliVersion(entity, moment));
  const item = apiEvent(rng, {
    entity,
    tMs,
    name,
    identity: viaConsole ? consoleIdentity(entity) : userIdentity(entity),
    region,
    ip: moment.address.ip,
    userAgent,
    error: rng.chance(ERROR_RATE) ? normalError(entity, spec, name, rng) : null,
    tls: !viaConsole,
  });
  const usedNewDevice = moment.newDevice && !viaConsole;
  const usedRollout = moment.rolloutAdopted && !viaConsole;
  return { ...item, kind: benignKind(moment, { usedNewDevice, usedRollout }) };
}

function cliVersion(entity, moment) {
  return moment.rolloutAdopted ? ROLLOUT_CLI_VERSION : entity.cliVersion;
}

function cliLaptop(laptop, isNew) {
  if (!isNew) return laptop;
  return {
    ...laptop,
    arch: laptop.platform === 'mac' ? 'arm64' : laptop.arch,
    kernel: NEW_KERNELS[laptop.platform],
  };
}

function userIdentity(entity) {
  return {
    type: 'IAMUser',
    principalId: entity.principalId,
    arn: entity.arn,
    accountId: ACCOUNT_ID,
    accessKeyId: entity.accessKeyId,
    userName: entity.id,
  };
}

/** Console calls use the temporary key of the day's console session. */
function consoleIdentity(entity) {
  const day = Math.floor(entity.consoleLoginMs / DAY_MS);
  return {
    type: 'IAMUser',
    principalId: entity.principalId,
    arn: entity.arn,
    accountId: ACCOUNT_ID,
    accessKeyId: `ASIA${streamFor(entity.keySeed, `console/${day}`).upperAlnum(16)}`,
    userName: entity.id,
    sessionContext: {
      sessionIssuer: {},
      webIdFederationData: {},
      attributes: { creationDate: isoSeconds(entity.consoleLoginMs), mfaAuthenticated: 'true' },
    },
  };
}

/** Temporary credentials of a role are refreshed every few hours. */
function roleIdentity(entity, tMs) {
  const refreshedMs = tMs - (tMs % ROLE_KEY_LIFETIME_MS);
  return {
    type: 'AssumedRole',
    principalId: `${entity.roleId}:${entity.session}`,
    arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${entity.role}/${entity.session}`,
    accountId: ACCOUNT_ID,
    accessKeyId: `ASIA${streamFor(entity.keySeed, `key/${refreshedMs}`).upperAlnum(16)}`,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: entity.roleId,
        arn: `arn:aws:iam::${ACCOUNT_ID}:role/${entity.role}`,
        accountId: ACCOUNT_ID,
        userName: entity.role,
      },
      webIdFederationData: {},
      attributes: { creationDate: isoSeconds(refreshedMs), mfaAuthenticated: 'false' },
    },
  };
}

function throttled() {
  return { errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded' };
}

function accessDenied(identityArn, service, action) {
  if (service === 'ec2') {
    return {
      errorCode: 'Client.UnauthorizedOperation',
      errorMessage: 'You are not authorized to perform this operation.',
    };
  }
  return {
    errorCode: 'AccessDenied',
    errorMessage: `User: ${identityArn} is not authorized to perform: ${service}:${action}`,
  };
}

function normalError(entity, spec, name, rng) {
  if (spec.readOnly && rng.chance(0.5)) return throttled();
  return accessDenied(entity.arn, spec.service, name.split(':')[1]);
}

/** One API call record; keys in CloudTrail's order. */
function apiEvent(rng, fields) {
  const { entity, tMs, name, identity, region, ip, userAgent, error, tls = true, target } = fields;
  const call = buildCall(name, entity.world, rng, tMs, identity, target);
  const { spec } = call;
  const host = spec.global
    ? `${spec.service}.amazonaws.com`
    : `${spec.service}.${region}.amazonaws.com`;
  const record = {
    eventVersion: '1.08',
    userIdentity: identity,
    eventTime: isoSeconds(tMs),
    eventSource: spec.source,
    eventName: call.eventName,
    awsRegion: region,
    sourceIPAddress: ip,
    userAgent,
    ...(error ?? {}),
    requestParameters: call.requestParameters,
    responseElements: error ? null : call.responseElements,
    requestID: spec.service === 's3' ? rng.upperAlnum(16) : rng.uuid(),
    eventID: rng.uuid(),
    readOnly: spec.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT_ID,
    eventCategory: 'Management',
    ...(tls ? { tlsDetails: { ...TLS, clientProvidedHostHeader: host } } : {}),
  };
  return { record, tMs, sub: 0, id: record.eventID, entity: entity.id };
}

function consoleLogin(rng, entity, tMs, ip, laptop, updated) {
  const version = BROWSER_VERSIONS[laptop.primaryBrowser][updated ? 'after' : 'before'];
  const record = {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: entity.principalId,
      arn: entity.arn,
      accountId: ACCOUNT_ID,
      userName: entity.id,
    },
    eventTime: isoSeconds(tMs),
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    awsRegion: HOME_REGION,
    sourceIPAddress: ip,
    userAgent: browserUserAgent(laptop.platform, laptop.primaryBrowser, version),
    requestParameters: null,
    responseElements: { ConsoleLogin: 'Success' },
    additionalEventData: {
      LoginTo: 'https://console.aws.amazon.com/console/home',
      MobileVersion: 'No',
      MFAUsed: 'Yes',
    },
    eventID: rng.uuid(),
    readOnly: false,
    eventType: 'AwsConsoleSignIn',
    managementEvent: true,
    recipientAccountId: ACCOUNT_ID,
    eventCategory: 'Management',
  };
  return { record, tMs, sub: 0, id: record.eventID, entity: entity.id };
}

/** An S3 object read, logged as a data event for the bucket that has data events enabled. */
function objectRead(rng, { entity, tMs, identity, ip, userAgent }) {
  const bucket = entity.world.sensitiveBucket;
  const key = `reports/${2021 + rng.int(0, 1)}/q${rng.int(1, 4)}/ledger-${rng.hex(6)}.csv`;
  const record = {
    eventVersion: '1.08',
    userIdentity: identity,
    eventTime: isoSeconds(tMs),
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    awsRegion: HOME_REGION,
    sourceIPAddress: ip,
    userAgent,
    requestParameters: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com`, key },
    responseElements: null,
    additionalEventData: {
      SignatureVersion: 'SigV4',
      CipherSuite: TLS.cipherSuite,
      bytesTransferredIn: 0,
      AuthenticationMethod: 'AuthHeader',
      bytesTransferredOut: rng.int(200_000, 40_000_000),
    },
    requestID: rng.upperAlnum(16),
    eventID: rng.uuid(),
    readOnly: true,
    resources: [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
      { accountId: ACCOUNT_ID, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
    ],
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: ACCOUNT_ID,
    eventCategory: 'Data',
    tlsDetails: { ...TLS, clientProvidedHostHeader: `${bucket}.s3.amazonaws.com` },
  };
  return { record, tMs, sub: 0, id: record.eventID, entity: entity.id };
}

/** A stolen long-term key creates a backdoor administrator at night from abroad. */
function escalation(incident, calendar, rng) {
  const { entity, size } = incident;
  const origin = hostileOrigin(entity, rng);
  const userAgent = rng.pick(ATTACKER_AGENTS);
  const target = rng.pick(BACKDOOR_USERS);
  let tMs = oddHourStart(incident, calendar, rng, size * MINUTE_MS);
  return ESCALATION_STEPS.slice(0, size).map((name, i) => {
    const error =
      i === 1 && rng.chance(0.5) ? accessDenied(entity.arn, 'iam', name.split(':')[1]) : null;
    const item = apiEvent(rng, {
      entity,
      tMs,
      name,
      identity: userIdentity(entity),
      region: HOME_REGION,
      ip: origin.address.ip,
      userAgent,
      error,
      target,
    });
    tMs += rng.int(2_000, 40_000);
    return item;
  });
}

/** A sweep of list/describe calls across services and regions, many of them denied. */
function recon(incident, calendar, rng) {
  const { entity, size } = incident;
  const origin = hostileOrigin(entity, rng);
  const userAgent = rng.pick(ATTACKER_AGENTS);
  let tMs = sameDayStart(incident, calendar, rng, size * 20_000);
  const calls = [RECON_CALLS[0], ...rng.shuffle(RECON_CALLS.slice(1))];
  const items = [];
  for (let i = 0; i < size; i += 1) {
    const name = calls[i % calls.length];
    const spec = APIS[name];
    const region = spec.global || rng.chance(0.5) ? HOME_REGION : rng.pick(OTHER_REGIONS);
    const error =
      i > 0 && rng.chance(0.35) ? accessDenied(entity.arn, spec.service, name.split(':')[1]) : null;
    items.push(
      apiEvent(rng, {
        entity,
        tMs,
        name,
        identity: userIdentity(entity),
        region,
        ip: origin.address.ip,
        userAgent,
        error,
      }),
    );
    tMs += rng.int(700, 15_000);
  }
  return items;
}

/** Bulk reads of the finance bucket and a snapshot shared with an outside account. */
function exfiltration(incident, calendar, rng) {
  const { entity, size } = incident;
  const origin = hostileOrigin(entity, rng);
  const userAgent = rng.chance(0.5)
    ? awsCliUserAgent(entity.person.laptop, ROLLOUT_CLI_VERSION)
    : rng.pick(ATTACKER_AGENTS);
  const identity = userIdentity(entity);
  const ip = origin.address.ip;
  let tMs = sameDayStart(incident, calendar, rng, size * 30_000);
  const items = [
    apiEvent(rng, {
      entity,
      tMs,
      name: 's3:ListBuckets',
      identity,
      region: HOME_REGION,
      ip,
      userAgent,
    }),
  ];
  for (let i = 1; i < size - 1; i += 1) {
    tMs += rng.int(1_000, 20_000);
    items.push(objectRead(rng, { entity, tMs, identity, ip, userAgent }));
  }
  tMs += rng.int(10_000, 60_000);
  items.push(
    apiEvent(rng, {
      entity,
      tMs,
      name: 'ec2:ModifySnapshotAttribute',
      identity,
      region: HOME_REGION,
      ip,
      userAgent,
    }),
  );
  return items;
}

/** A machine role's credentials used interactively from outside AWS ("machine as human"). */
function misuse(incident, calendar, rng) {
  const { entity, size } = incident;
  const origin = hostileOrigin(entity, rng);
  const userAgent = awsCliUserAgent({ platform: 'linux', arch: 'x86_64' }, '2.7.24');
  let tMs = sameDayStart(incident, calendar, rng, size * 60_000);
  return MISUSE_CALLS.slice(0, size).map((name) => {
    const item = apiEvent(rng, {
      entity,
      tMs,
      name,
      identity: roleIdentity(entity, tMs),
      region: HOME_REGION,
      ip: origin.address.ip,
      userAgent,
    });
    tMs += rng.int(5_000, 60_000);
    return item;
  });
}
