/**
 * Azure AD (Entra ID) sign-in logs. Reads both shapes the logs come in: the Azure
 * Monitor diagnostic export (fields under `properties`, as Morpheus DFP expects)
 * and the Microsoft Graph `signIns` shape (the same fields at the top level);
 * every column takes the first of the two paths that is present.
 *
 * The event time is `createdDateTime` (when the sign-in happened); the export's
 * top-level `time` (when it was processed) is only a fallback for categories that
 * lack `createdDateTime`.
 */
import type { ColumnSpec, SourceDefinition } from '../types';

/** A string column from `properties.<path>` in the export or `<path>` in Graph. */
function either(name: string, path: string): ColumnSpec {
  return { name, kind: 'coalesce', type: 'string', inputs: [`properties.${path}`, path] };
}

const copy = (name: string): ColumnSpec => ({ name, kind: 'column', type: 'string' });

export const azure: SourceDefinition = {
  name: 'azure',
  description: 'Azure AD / Entra ID sign-in logs (diagnostic export or Graph signIns)',
  entityColumn: 'username',
  timestampColumn: 'timestamp',
  eventIdColumn: 'id',
  features: [
    'appDisplayName',
    'clientAppUsed',
    'deviceDetailbrowser',
    'deviceDetaildisplayName',
    'deviceDetailoperatingSystem',
    'statusfailureReason',
    'appincrement',
    'locincrement',
    'logcount',
  ],
  input: {
    columns: [
      {
        name: 'timestamp',
        kind: 'datetime',
        input: ['properties.createdDateTime', 'createdDateTime', 'time'],
      },
      either('username', 'userPrincipalName'),
      either('appDisplayName', 'appDisplayName'),
      { name: 'category', kind: 'column', type: 'string' },
      either('clientAppUsed', 'clientAppUsed'),
      either('deviceDetailbrowser', 'deviceDetail.browser'),
      either('deviceDetaildisplayName', 'deviceDetail.displayName'),
      either('deviceDetailoperatingSystem', 'deviceDetail.operatingSystem'),
      {
        name: 'location',
        kind: 'string_cat',
        inputs: [
          ['properties.location.city', 'location.city'],
          ['properties.location.countryOrRegion', 'location.countryOrRegion'],
        ],
        separator: ', ',
      },
      either('statusfailureReason', 'status.failureReason'),
      either('id', 'id'),
    ],
    knownFields: [
      // diagnostic export envelope
      'Level',
      'callerIpAddress',
      'correlationId',
      'durationMs',
      'identity',
      'operationName',
      'operationVersion',
      'resourceId',
      'resultDescription',
      'resultSignature',
      'resultType',
      'tenantId',
      // Graph signIn properties not used as features
      'alternateSignInName',
      'appId',
      'appTokenProtectionStatus',
      'appliedConditionalAccessPolicies',
      'authenticationAppDeviceDetails',
      'authenticationContextClassReferences',
      'authenticationDetails',
      'authenticationMethodsUsed',
      'authenticationProcessingDetails',
      'authenticationProtocol',
      'authenticationRequirement',
      'authenticationRequirementPolicies',
      'autonomousSystemNumber',
      'clientCredentialType',
      'conditionalAccessAudiences',
      'conditionalAccessStatus',
      'crossTenantAccessType',
      'federatedCredentialId',
      'flaggedForReview',
      'globalSecureAccessIpAddress',
      'homeTenantId',
      'homeTenantName',
      'incomingTokenType',
      'ipAddress',
      'isInteractive',
      'isTenantRestricted',
      'isThroughGlobalSecureAccess',
      'managedIdentityType',
      'mfaDetail',
      'networkLocationDetails',
      'originalRequestId',
      'privateLinkDetails',
      'processingTimeInMilliseconds',
      'resourceDisplayName',
      'resourceServicePrincipalId',
      'resourceTenantId',
      'riskDetail',
      'riskEventTypes',
      'riskEventTypes_v2',
      'riskLevelAggregated',
      'riskLevelDuringSignIn',
      'riskState',
      'servicePrincipalCredentialKeyId',
      'servicePrincipalCredentialThumbprint',
      'servicePrincipalId',
      'servicePrincipalName',
      'sessionId',
      'sessionLifetimePolicies',
      'signInEventTypes',
      'signInIdentifier',
      'signInIdentifierType',
      'ssoExtensionVersion',
      'tokenIssuerName',
      'tokenIssuerType',
      'tokenProtectionStatusDetails',
      'uniqueTokenIdentifier',
      'userAgent',
      'userDisplayName',
      'userId',
      'userType',
    ],
  },
  preprocess: {
    columns: [
      { name: 'timestamp', kind: 'column', type: 'timestamp' },
      copy('username'),
      copy('appDisplayName'),
      copy('clientAppUsed'),
      copy('deviceDetailbrowser'),
      copy('deviceDetaildisplayName'),
      copy('deviceDetailoperatingSystem'),
      copy('statusfailureReason'),
      { name: 'logcount', kind: 'increment', input: 'timestamp', groupBy: 'username' },
      {
        name: 'locincrement',
        kind: 'distinct_increment',
        input: 'location',
        groupBy: 'username',
        timestampColumn: 'timestamp',
      },
      {
        name: 'appincrement',
        kind: 'distinct_increment',
        input: 'appDisplayName',
        groupBy: 'username',
        timestampColumn: 'timestamp',
      },
    ],
    preserve: ['id'],
  },
  period: 'D',
  training: { epochs: 100, validationSize: 0.15 },
};
