// Azure AD (Entra ID) sign-in logs as exported by Azure Monitor diagnostic settings
// (top-level time/category/resultType + nested `properties`), one JSON array per file.

import { browserUserAgent, phoneUserAgent, richClientUserAgent } from './agents.mjs';
import {
  benignKind,
  farApartPlaces,
  hostileOrigin,
  oddHourStart,
  sameDayStart,
  usesNewDevice,
} from './activity.mjs';
import { BROWSER_VERSIONS, FOREIGN_CLIENTS, MOBILE_OS } from './catalog.mjs';
import { streamFor } from './random.mjs';
import { isoTicks, MINUTE_MS } from './time.mjs';

const ROLLOUT_APP_SHARE = 0.1;
const RICH_CLIENT = 'Rich Client 4.45.0.0';
const BROWSER_INTERACTIVE_SHARE = 0.6;
const CLIENT_INTERACTIVE_SHARE = 0.12;
const NO_FRACTION_SHARE = 0.02;
const MS_ONLY_SHARE = 0.06;

// id -> [appDisplayName, resourceDisplayName, channels it is used through]
const APP_TABLE = {
  teams: ['Microsoft Teams', 'Microsoft Teams Services', ['desktop', 'mobile', 'browser']],
  office: ['Microsoft Office', 'Microsoft Graph', ['desktop']],
  officeHome: ['OfficeHome', 'Office 365 SharePoint Online', ['browser']],
  shell: ['Office365 Shell WCSS-Client', 'Office365 Shell WCSS-Server', ['browser']],
  outlookMobile: ['Outlook Mobile', 'Office 365 Exchange Online', ['mobile']],
  oneDrive: ['OneDrive SyncEngine', 'Office 365 SharePoint Online', ['desktop']],
  windows: ['Windows Sign In', 'Windows Azure Active Directory', ['desktop']],
  exchange: ['Office 365 Exchange Online', 'Office 365 Exchange Online', ['desktop']],
  portal: ['Azure Portal', 'Windows Azure Service Management API', ['browser']],
  azureCli: ['Microsoft Azure CLI', 'Windows Azure Service Management API', ['desktop']],
  azurePs: ['Microsoft Azure PowerShell', 'Windows Azure Service Management API', ['desktop']],
  vscode: ['Visual Studio Code', 'Microsoft Graph', ['desktop']],
  github: ['GitHub Enterprise Cloud', 'GitHub Enterprise Cloud', ['browser']],
  powerBi: ['Power BI Desktop', 'Microsoft Power BI', ['desktop']],
  salesforce: ['Salesforce', 'Salesforce', ['browser']],
  zoom: ['Zoom', 'Zoom', ['browser', 'desktop']],
  workday: ['Workday', 'Workday', ['browser']],
  concur: ['SAP Concur', 'SAP Concur', ['browser']],
  serviceNow: ['ServiceNow', 'ServiceNow', ['browser']],
  zendesk: ['Zendesk', 'Zendesk', ['browser']],
  slack: ['Slack', 'Slack', ['browser', 'desktop', 'mobile']],
  graphExplorer: ['Graph Explorer', 'Microsoft Graph', ['browser']],
  myApps: ['My Apps', 'Microsoft App Access Panel', ['browser']],
  stream: ['Microsoft Stream Portal', 'Microsoft Stream Service', ['browser']],
  forms: ['Microsoft Forms', 'Microsoft Forms', ['browser']],
  powerApps: ['Power Apps', 'PowerApps Service', ['browser']],
  devOps: ['Azure DevOps', 'Azure DevOps', ['browser']],
  dynamics: ['Dynamics 365', 'Dynamics CRM Online', ['browser']],
  planner: ['Microsoft Planner', 'Microsoft Graph', ['browser']],
  whiteboard: ['Microsoft Whiteboard Client', 'Microsoft Whiteboard Services', ['desktop']],
  sharepoint: ['SharePoint Online Web Client Extensibility', 'Microsoft Graph', ['browser']],
};

const ROLLOUT_APP = 'slack';
const BASE_APPS = ['teams', 'office', 'officeHome', 'shell', 'outlookMobile', 'oneDrive'];
const DEPARTMENT_APPS = {
  Engineering: ['portal', 'azureCli', 'vscode', 'github'],
  'Data Platform': ['portal', 'powerBi', 'vscode'],
  'IT Operations': ['portal', 'azurePs', 'serviceNow'],
  Finance: ['concur', 'workday', 'powerBi'],
  Sales: ['salesforce', 'zoom'],
  Support: ['zendesk', 'serviceNow'],
  'People Ops': ['workday', 'zoom'],
};

// Standard Azure AD error codes and their texts (AADSTS<code>).
const FAILURES = {
  50053:
    'Account is locked because user tried to sign in too many times with an incorrect ' +
    'user ID or password.',
  50074: 'Strong Authentication is required.',
  50126: 'Error validating credentials due to invalid username or password.',
  50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.",
  70044:
    'The session has expired or is invalid due to sign-in frequency checks by conditional access.',
  50173: 'The provided grant has expired due to it being revoked, a fresh auth token is needed.',
};
const INTERACTIVE_FAILURES = [50074, 50140, 50126];
const BACKGROUND_FAILURES = [70044, 50173];
const LEGACY_CLIENTS = ['Other clients', 'IMAP4', 'Authenticated SMTP', 'Exchange ActiveSync'];
const SCRIPTED_AGENTS = ['BAV2ROPC', 'python-requests/2.28.1'];

export const azureSource = {
  name: 'azure',
  title: 'Azure AD',
  filePrefix: 'AZUREAD',
  format: 'json-array',
  burstFollow: 0.35,
  buildEntities,
  renderMoment,
  incidentKinds: [
    { kind: 'account_takeover', size: [3, 6], eligible: () => true, render: accountTakeover },
    { kind: 'credential_stuffing', size: [12, 20], eligible: () => true, render: stuffing },
    { kind: 'impossible_travel', size: [4, 6], eligible: () => true, render: impossibleTravel },
    { kind: 'app_spree', size: [10, 14], eligible: () => true, render: appSpree },
  ],
};

function buildEntities(people, seed) {
  const apps = buildApps(seed);
  const tenantId = streamFor(seed, 'azure/tenant').uuid();
  return people.map((person) => {
    const rng = streamFor(seed, `azure/entity/${person.index}`);
    const extras = DEPARTMENT_APPS[person.department];
    const usual = [...BASE_APPS, ...rng.sample(extras, rng.int(1, extras.length))];
    if (person.laptop.platform === 'windows') usual.push('windows');
    return {
      id: person.email,
      person,
      tenantId,
      userId: rng.uuid(),
      apps: usual.map((id) => [apps[id], rng.float(0.5, id === 'teams' ? 8 : 3)]),
      allApps: apps,
      mobileShare: rng.float(0.1, 0.25),
      failRate: rng.float(0.02, 0.05),
    };
  });
}

/** App ids are stable per app name and seed. */
function buildApps(seed) {
  return Object.fromEntries(
    Object.entries(APP_TABLE).map(([id, [name, resource, channels]]) => {
      const rng = streamFor(seed, `azure/app/${id}`);
      return [id, { id, name, appId: rng.uuid(), resource, resourceId: rng.uuid(), channels }];
    }),
  );
}

function renderMoment(moment, rng) {
  const { entity } = moment;
  const mobile = rng.chance(entity.mobileShare);
  const rolloutApp = moment.rolloutAdopted && rng.chance(ROLLOUT_APP_SHARE);
  const app = rolloutApp ? entity.allApps[ROLLOUT_APP] : usualApp(entity, mobile, rng);
  const channel = mobile ? 'mobile' : desktopChannel(app, rng);
  const client = clientFor(entity, channel, moment, rng);
  const interactive = rng.chance(
    channel === 'browser' ? BROWSER_INTERACTIVE_SHARE : CLIENT_INTERACTIVE_SHARE,
  );
  const address = mobile && !moment.trip ? entity.person.network.mobile : moment.address;
  const item = signIn(rng, {
    entity,
    tMs: moment.tMs,
    app,
    client,
    address,
    place: moment.place,
    interactive,
    status: normalStatus(entity, interactive, rng),
  });
  const usedRollout = rolloutApp || client.rolloutVersion;
  const usedNewDevice = moment.newDevice && !mobile;
  return { ...item, kind: benignKind(moment, { usedNewDevice, usedRollout }) };
}

function usualApp(entity, mobile, rng) {
  const wanted = mobile ? 'mobile' : null;
  const apps = entity.apps.filter(([app]) =>
    wanted ? app.channels.includes(wanted) : app.channels.some((c) => c !== 'mobile'),
  );
  return rng.weighted(apps);
}

function desktopChannel(app, rng) {
  const channels = app.channels.filter((c) => c !== 'mobile');
  return rng.pick(channels);
}

/** deviceDetail, clientAppUsed and userAgent of the device the entity used. */
function clientFor(entity, channel, moment, rng) {
  const { person } = entity;
  if (channel === 'mobile') return phoneClient(person);
  const laptop = moment.newDevice ? person.newLaptop : person.laptop;
  const browser = rng.chance(laptop.secondaryShare) && laptop.secondaryBrowser;
  return laptopClient(laptop, browser || laptop.primaryBrowser, channel, moment.rolloutAdopted);
}

function laptopClient(laptop, browserName, channel, updated) {
  const version = BROWSER_VERSIONS[browserName][updated ? 'after' : 'before'];
  const isBrowser = channel === 'browser';
  const shortName = browserName === 'Edge Chromium' ? 'Edge' : browserName;
  return {
    clientAppUsed: isBrowser ? 'Browser' : 'Mobile Apps and Desktop clients',
    userAgent: isBrowser
      ? browserUserAgent(laptop.platform, browserName, version)
      : richClientUserAgent(laptop.platform, 'Office'),
    deviceDetail: {
      deviceId: laptop.managed ? laptop.deviceId : '',
      displayName: laptop.managed ? laptop.hostname : '',
      operatingSystem: laptop.azureOs,
      browser: isBrowser ? `${shortName} ${version.split('.').slice(0, 3).join('.')}` : RICH_CLIENT,
      isCompliant: laptop.managed,
      isManaged: laptop.managed,
      trustType: trustTypeOf(laptop),
    },
    rolloutVersion: isBrowser && updated,
  };
}

function trustTypeOf(laptop) {
  if (!laptop.managed) return '';
  return laptop.platform === 'windows' ? 'Hybrid Azure AD joined' : 'Azure AD registered';
}

function phoneClient(person) {
  const { phone } = person;
  return {
    clientAppUsed: 'Mobile Apps and Desktop clients',
    userAgent: phoneUserAgent(phone, BROWSER_VERSIONS['Chrome Mobile'].after),
    deviceDetail: {
      deviceId: phone.deviceId,
      displayName: `${person.first}'s ${phone.model}`,
      operatingSystem: MOBILE_OS[phone.platform].azureOs,
      browser: RICH_CLIENT,
      isCompliant: true,
      isManaged: true,
      trustType: 'Azure AD registered',
    },
    rolloutVersion: false,
  };
}

function normalStatus(entity, interactive, rng) {
  if (!rng.chance(entity.failRate)) return success(interactive, rng);
  return failure(rng.pick(interactive ? INTERACTIVE_FAILURES : BACKGROUND_FAILURES));
}

function success(interactive, rng) {
  if (interactive && rng.chance(0.4)) {
    return { errorCode: 0, additionalDetails: 'MFA requirement satisfied by claim in the token' };
  }
  return { errorCode: 0 };
}

function failure(code) {
  return { errorCode: code, failureReason: FAILURES[code] };
}

/** Azure keeps 100 ns ticks and trims trailing zeros; a few values carry no fraction at all. */
function azureTime(tMs, rng) {
  const roll = rng.next();
  if (roll < NO_FRACTION_SHARE) return { tMs: tMs - (tMs % 1000), ticks: 0 };
  if (roll < NO_FRACTION_SHARE + MS_ONLY_SHARE) return { tMs, ticks: 0 };
  return { tMs, ticks: rng.int(0, 9999) };
}

/** One diagnostic-settings sign-in record, keys in the order Azure Monitor writes them. */
function signIn(rng, fields) {
  const { entity, app, client, address, place, interactive, status, risk = [] } = fields;
  const { tMs, ticks } = azureTime(fields.tMs, rng);
  const { person, tenantId } = entity;
  const correlationId = rng.uuid();
  const failed = status.errorCode !== 0;
  const riskLevel = risk.length > 0 ? 'medium' : 'none';
  const record = {
    time: isoTicks(tMs, ticks),
    resourceId: `/tenants/${tenantId}/providers/Microsoft.aadiam`,
    operationName: 'Sign-in activity',
    operationVersion: '1.0',
    category: interactive ? 'SignInLogs' : 'NonInteractiveUserSignInLogs',
    tenantId,
    resultType: String(status.errorCode),
    resultSignature: 'None',
    ...(failed ? { resultDescription: status.failureReason } : {}),
    durationMs: 0,
    callerIpAddress: address.ip,
    correlationId,
    identity: person.displayName,
    Level: 4,
    location: place.code,
    properties: {
      id: rng.uuid(),
      createdDateTime: isoTicks(tMs, ticks, '+00:00'),
      userDisplayName: person.displayName,
      userPrincipalName: entity.id,
      userId: entity.userId,
      appId: app.appId,
      appDisplayName: app.name,
      ipAddress: address.ip,
      status,
      clientAppUsed: client.clientAppUsed,
      userAgent: client.userAgent,
      deviceDetail: client.deviceDetail,
      location: {
        city: place.city,
        state: place.state,
        countryOrRegion: place.code,
        geoCoordinates: {
          latitude: round4(place.lat + rng.float(-0.04, 0.04)),
          longitude: round4(place.lon + rng.float(-0.04, 0.04)),
        },
      },
      correlationId,
      conditionalAccessStatus: failed ? 'notApplied' : 'success',
      originalRequestId: rng.uuid(),
      isInteractive: interactive,
      processingTimeInMilliseconds: rng.int(40, 400),
      riskDetail: 'none',
      riskLevelAggregated: riskLevel,
      riskLevelDuringSignIn: riskLevel,
      riskState: risk.length > 0 ? 'atRisk' : 'none',
      riskEventTypes: risk,
      riskEventTypes_v2: risk,
      resourceDisplayName: app.resource,
      resourceId: app.resourceId,
      resourceTenantId: tenantId,
      homeTenantId: tenantId,
      tokenIssuerName: '',
      tokenIssuerType: 'AzureAD',
      authenticationRequirement: interactive
        ? 'multiFactorAuthentication'
        : 'singleFactorAuthentication',
      userType: 'Member',
      flaggedForReview: false,
      isTenantRestricted: false,
      autonomousSystemNumber: address.asn,
      crossTenantAccessType: 'none',
    },
  };
  return { record, tMs, sub: ticks, id: record.properties.id, entity: entity.id };
}

function round4(value) {
  return Math.round(value * 10_000) / 10_000;
}

/** A device and browser the victim never had, as seen from abroad. */
function foreignClient(entity, rng, legacy = false) {
  if (legacy) {
    return {
      clientAppUsed: rng.pick(LEGACY_CLIENTS),
      userAgent: rng.pick(SCRIPTED_AGENTS),
      deviceDetail: emptyDevice(''),
      rolloutVersion: false,
    };
  }
  const { laptop } = entity.person;
  const options = FOREIGN_CLIENTS.filter((c) => c.os !== laptop.os);
  const pick = rng.pick(options.length > 0 ? options : FOREIGN_CLIENTS);
  const os = pick.os === 'Windows' ? `Windows ${pick.osVersion}` : pick.os;
  const browser = `${pick.browser} ${pick.version.split('.').slice(0, 3).join('.')}`;
  return {
    clientAppUsed: 'Browser',
    userAgent: browserUserAgent(pick.platform, pick.browser, pick.version),
    deviceDetail: { ...emptyDevice(browser), operatingSystem: os },
    rolloutVersion: false,
  };
}

function emptyDevice(browser) {
  return {
    deviceId: '',
    displayName: '',
    operatingSystem: '',
    browser,
    isCompliant: false,
    isManaged: false,
    trustType: '',
  };
}

/** Password, then MFA prompt, then a session from an unknown device abroad at night. */
function accountTakeover(incident, calendar, rng) {
  const { entity, size } = incident;
  const origin = hostileOrigin(entity, rng);
  const client = foreignClient(entity, rng);
  const statuses = [failure(50126), failure(50074)];
  let tMs = oddHourStart(incident, calendar, rng, size * 3 * MINUTE_MS);
  const targets = ['officeHome', 'exchange', 'myApps', 'shell'];
  const items = [];
  for (let i = 0; i < size; i += 1) {
    const status = statuses[i] ?? success(true, rng);
    const app = entity.allApps[i === 0 ? 'officeHome' : rng.pick(targets)];
    const risk = rng.chance(0.5) ? ['unfamiliarFeatures'] : [];
    items.push(
      signIn(rng, { entity, tMs, app, client, ...origin, interactive: true, status, risk }),
    );
    tMs += rng.int(20_000, 3 * MINUTE_MS);
  }
  return items;
}

/** Scripted legacy-auth password attempts from a hosting provider, ending in a lockout. */
function stuffing(incident, calendar, rng) {
  const { entity, size } = incident;
  const origin = hostileOrigin(entity, rng);
  const client = foreignClient(entity, rng, true);
  let tMs = sameDayStart(incident, calendar, rng, size * MINUTE_MS);
  const items = [];
  for (let i = 0; i < size; i += 1) {
    const status = failure(i >= size - 2 ? 50053 : 50126);
    const app = entity.allApps.exchange;
    items.push(signIn(rng, { entity, tMs, app, client, ...origin, interactive: true, status }));
    tMs += rng.int(3_000, 45_000);
  }
  return items;
}

/** The victim's own laptop signs in from several far-apart countries within hours. */
function impossibleTravel(incident, calendar, rng) {
  const { entity, size } = incident;
  const places = farApartPlaces(entity, size, rng);
  const gapMs = rng.int(40, 120) * MINUTE_MS;
  let tMs = sameDayStart(incident, calendar, rng, size * (gapMs + 20 * MINUTE_MS));
  const { person } = entity;
  const laptop = usesNewDevice(entity, tMs) ? person.newLaptop : person.laptop;
  return places.map(({ place, address }, i) => {
    const client = laptopClient(laptop, laptop.primaryBrowser, 'browser', true);
    const app = rng.weighted(entity.apps.filter(([a]) => a.channels.includes('browser')));
    const risk = i > 0 && rng.chance(0.3) ? ['unlikelyTravel'] : [];
    const item = signIn(rng, {
      entity,
      tMs,
      app,
      client,
      address,
      place,
      interactive: true,
      status: success(true, rng),
      risk,
    });
    tMs += gapMs + rng.int(0, 20 * MINUTE_MS);
    return item;
  });
}

/** Many distinct applications, most never used before, within an hour or two. */
function appSpree(incident, calendar, rng) {
  const { entity, size } = incident;
  const usual = new Set(entity.apps.map(([app]) => app.id));
  const unusual = Object.values(entity.allApps).filter(
    (app) => !usual.has(app.id) && app.id !== ROLLOUT_APP && app.channels.includes('browser'),
  );
  const apps = rng.sample(unusual, size);
  let tMs = sameDayStart(incident, calendar, rng, size * 8 * MINUTE_MS);
  const { person } = entity;
  const laptop = usesNewDevice(entity, tMs) ? person.newLaptop : person.laptop;
  const address = person.network.home;
  return apps.map((app) => {
    const client = laptopClient(laptop, laptop.primaryBrowser, 'browser', true);
    const item = signIn(rng, {
      entity,
      tMs,
      app,
      client,
      address,
      place: person.home,
      interactive: true,
      status: success(true, rng),
    });
    tMs += rng.int(30_000, 8 * MINUTE_MS);
    return item;
  });
}
