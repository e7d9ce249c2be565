/**
 * AWS CloudTrail events (S3 delivery `Records`, arrays, JSON Lines, Logstash/OTRF
 * exports). Morpheus dropped its CloudTrail source; this one is rebuilt on the
 * same engine as Duo and Azure, with per-day batches.
 */
import type { ColumnSpec, SourceDefinition } from '../types';

/**
 * Who acted, first present wins:
 * 1. `userIdentity.userName` (IAM user, root alias, federated user),
 * 2. `userIdentity.sessionContext.sessionIssuer.userName` (the role behind an
 *    assumed-role session, so all sessions of a role form one entity),
 * 3. `userIdentity.arn`,
 * 4. `userIdentity.principalId`,
 * 5. `userIdentity.invokedBy` (an AWS service acting for the account),
 * 6. `userIdentity.type` (e.g. `AWSService`, `Unknown`),
 * 7. otherwise `unknown-identity`, so no event is lost for lack of an identity.
 */
export const CLOUDTRAIL_IDENTITY_PRECEDENCE = [
  'userIdentity.userName',
  'userIdentity.sessionContext.sessionIssuer.userName',
  'userIdentity.arn',
  'userIdentity.principalId',
  'userIdentity.invokedBy',
  'userIdentity.type',
];

export const UNKNOWN_IDENTITY = 'unknown-identity';

const str = (name: string, input: string): ColumnSpec => ({
  name,
  kind: 'rename',
  type: 'string',
  input,
});
const copy = (name: string): ColumnSpec => ({ name, kind: 'column', type: 'string' });

/**
 * Features. The HAMMAH list Morpheus used (33 columns) is mostly per-request
 * values — request ids, session names, instance and group sets — that are unique
 * per event: they teach an autoencoder nothing about habits and blow up the
 * category tables. We keep who/what/where/how: the API called (`eventSource`,
 * `eventName`), from where (`sourceIPAddress`, `awsRegion`), with what client
 * (`userAgent`), as what kind of identity in which account, whether it failed
 * (`errorCode`), plus per-day activity volume (`logcount`) and how many distinct
 * source IPs were used that day (`locincrement`).
 */
const CATEGORICAL = [
  'eventSource',
  'eventName',
  'sourceIPAddress',
  'userAgent',
  'awsRegion',
  'userIdentitytype',
  'userIdentityaccountId',
  'errorCode',
];
const FEATURES = [...CATEGORICAL, 'locincrement', 'logcount'];

export const cloudtrail: SourceDefinition = {
  name: 'cloudtrail',
  description: 'AWS CloudTrail management events',
  entityColumn: 'username',
  timestampColumn: 'timestamp',
  eventIdColumn: 'eventID',
  features: FEATURES,
  input: {
    columns: [
      { name: 'timestamp', kind: 'datetime', input: ['eventTime', '@timestamp'] },
      {
        name: 'username',
        kind: 'coalesce',
        type: 'string',
        inputs: CLOUDTRAIL_IDENTITY_PRECEDENCE,
        fallback: UNKNOWN_IDENTITY,
      },
      copy('eventSource'),
      copy('eventName'),
      copy('sourceIPAddress'),
      copy('userAgent'),
      copy('awsRegion'),
      str('userIdentitytype', 'userIdentity.type'),
      str('userIdentityaccountId', 'userIdentity.accountId'),
      copy('errorCode'),
      copy('eventID'),
    ],
    knownFields: [
      '@version',
      'additionalEventData',
      'addendum',
      'apiVersion',
      'edgeDeviceDetails',
      'errorMessage',
      'eventCategory',
      'eventType',
      'eventVersion',
      'insightDetails',
      'managementEvent',
      'readOnly',
      'recipientAccountId',
      'requestID',
      'requestParameters',
      'resources',
      'responseElements',
      'serviceEventDetails',
      'sessionCredentialFromConsole',
      'sharedEventID',
      'tlsDetails',
      'vpcEndpointAccountId',
      'vpcEndpointId',
    ],
  },
  preprocess: {
    columns: [
      { name: 'timestamp', kind: 'column', type: 'timestamp' },
      copy('username'),
      ...CATEGORICAL.map(copy),
      { name: 'logcount', kind: 'increment', input: 'timestamp', groupBy: 'username' },
      {
        name: 'locincrement',
        kind: 'distinct_increment',
        input: 'sourceIPAddress',
        groupBy: 'username',
        timestampColumn: 'timestamp',
      },
    ],
    preserve: ['eventID'],
  },
  period: 'D',
  training: { epochs: 30, validationSize: 0.1 },
};
