// Duo Admin API authentication logs (v2 "authlog" objects), one JSON array per file.

import {
  hostileOrigin,
  farApartPlaces,
  benignKind,
  oddHourStart,
  sameDayStart,
  usesNewDevice,
} from './activity.mjs';
import { BROWSER_VERSIONS, FOREIGN_CLIENTS, MOBILE_OS } from './catalog.mjs';
import { phoneDisplayName } from './people.mjs';
import { streamFor } from './random.mjs';
import { isoMicrosOffset, MINUTE_MS } from './time.mjs';

const ROLLOUT_BROWSER = 'Edge Chromium';
const ROLLOUT_BROWSER_SHARE = 0.7;
const NO_EMAIL_SHARE = 0.1;

const APPS = {
  sso: 'Microsoft Azure Active Directory',
  vpn: 'Cisco ASA SSL VPN',
  unix: 'Unix Application',
  rdp: 'Microsoft RDP',
  salesforce: 'Salesforce',
  workday: 'Workday',
  github: 'GitHub Enterprise Cloud',
};

const DEPARTMENT_APPS = {
  Engineering: ['unix', 'github'],
  'Data Platform': ['unix'],
  'IT Operations': ['rdp', 'unix'],
  Finance: ['workday'],
  Sales: ['salesforce'],
  Support: ['salesforce'],
  'People Ops': ['workday'],
};

const HOSTILE_CALLING_CODES = { NG: '234', RO: '40', VN: '84', ID: '62', DE: '49', RU: '7' };

export const duoSource = {
  name: 'duo',
  title: 'Duo',
  filePrefix: 'DUO',
  format: 'json-array',
  burstFollow: 0.1,
  buildEntities,
  renderMoment,
  incidentKinds: [
    { kind: 'account_takeover', size: [3, 6], eligible: () => true, render: accountTakeover },
    { kind: 'failure_burst', size: [12, 20], eligible: () => true, render: failureBurst },
    { kind: 'impossible_travel', size: [4, 6], eligible: () => true, render: impossibleTravel },
  ],
};

function buildEntities(people, seed) {
  const appKeys = Object.fromEntries(
    Object.entries(APPS).map(([id, name]) => [id, { key: duoKey(seed, `app/${id}`, 'DI'), name }]),
  );
  return people.map((person) => {
    const rng = streamFor(seed, `duo/entity/${person.index}`);
    const extra = DEPARTMENT_APPS[person.department];
    const apps = [
      [appKeys.sso, rng.float(4, 8)],
      [appKeys.vpn, rng.float(1, 3)],
      ...rng.sample(extra, rng.int(1, extra.length)).map((id) => [appKeys[id], rng.float(1, 3)]),
    ];
    return {
      id: person.duoName,
      person,
      userKey: duoKey(seed, `user/${person.index}`, 'DU'),
      groups: [person.department, ...(rng.chance(0.5) ? ['VPN Users'] : [])],
      email: rng.chance(NO_EMAIL_SHARE) ? '' : person.email,
      apps,
      factors: [
        ['duo_push', rng.float(6, 9)],
        ['passcode', rng.float(0.2, 1.5)],
        ['phone_call', rng.float(0, 0.5)],
      ],
      mobileShare: rng.float(0.05, 0.2),
      denyRate: rng.float(0.01, 0.05),
    };
  });
}

function duoKey(seed, label, prefix) {
  return `${prefix}${streamFor(seed, `duo/key/${label}`).upperAlnum(18)}`;
}

function renderMoment(moment, rng) {
  const { entity } = moment;
  const { person } = entity;
  const phone = moment.newDevice ? person.newPhone : person.phone;
  const phoneAddress = moment.trip ? moment.address : person.network.mobile;
  const access = rng.chance(entity.mobileShare)
    ? mobileAccess(phone, moment, phoneAddress)
    : desktopAccess(person.laptop, moment, rng);
  const factor = rng.weighted(entity.factors);
  const item = authLog(rng, {
    entity,
    tMs: moment.tMs,
    access,
    application: rng.weighted(entity.apps),
    authDevice: { ip: phoneAddress.ip, place: moment.place, name: phoneDisplayName(phone) },
    factor,
    ...outcome(factor, entity.denyRate, rng),
  });
  return {
    ...item,
    kind: benignKind(moment, { usedNewDevice: moment.newDevice, usedRollout: access.rollout }),
  };
}

function desktopAccess(laptop, moment, rng) {
  let browser = rng.chance(laptop.secondaryShare) && laptop.secondaryBrowser;
  browser ||= laptop.primaryBrowser;
  const rollout =
    moment.rolloutAdopted && browser !== ROLLOUT_BROWSER && rng.chance(ROLLOUT_BROWSER_SHARE);
  if (rollout) browser = ROLLOUT_BROWSER;
  const versions = BROWSER_VERSIONS[browser];
  return {
    browser,
    browserVersion: moment.rolloutAdopted ? versions.after : versions.before,
    os: laptop.os,
    osVersion: laptop.osVersion,
    ip: moment.address.ip,
    place: moment.place,
    managed: laptop.managed,
    rollout,
  };
}

function mobileAccess(phone, moment, address) {
  const os = MOBILE_OS[phone.platform];
  const versions = BROWSER_VERSIONS[os.browser];
  return {
    browser: os.browser,
    browserVersion: moment.rolloutAdopted ? versions.after : versions.before,
    os: os.duoOs,
    osVersion: os.version,
    ip: address.ip,
    place: moment.place,
    managed: false,
    rollout: false,
  };
}

function outcome(factor, denyRate, rng) {
  if (!rng.chance(denyRate)) {
    return {
      result: 'success',
      reason: factor === 'passcode' ? 'valid_passcode' : 'user_approved',
    };
  }
  if (factor === 'passcode') return { result: 'denied', reason: 'invalid_passcode' };
  if (factor === 'phone_call') return { result: 'denied', reason: 'no_response' };
  return { result: 'denied', reason: rng.pick(['user_cancelled', 'no_response', 'user_mistake']) };
}

/** One authlog object, keys in the order the Admin API returns them. */
function authLog(rng, { entity, tMs, access, application, authDevice, factor, result, reason }) {
  const micros = rng.int(0, 999);
  const flag = access.managed ? 'true' : 'unknown';
  const record = {
    access_device: {
      browser: access.browser,
      browser_version: access.browserVersion,
      flash_version: 'uninstalled',
      hostname: null,
      ip: access.ip,
      is_encryption_enabled: flag,
      is_firewall_enabled: flag,
      is_password_set: flag,
      java_version: 'uninstalled',
      location: duoLocation(access.place),
      os: access.os,
      os_version: access.osVersion,
    },
    alias: '',
    application: { key: application.key, name: application.name },
    auth_device: {
      ip: authDevice.ip,
      location: duoLocation(authDevice.place),
      name: authDevice.name,
    },
    email: entity.email,
    event_type: 'authentication',
    factor,
    isotimestamp: isoMicrosOffset(tMs, micros),
    ood_software: null,
    reason,
    result,
    timestamp: Math.floor(tMs / 1000),
    trusted_endpoint_status: access.managed ? 'trusted' : 'not trusted',
    txid: rng.uuid(),
    user: { groups: entity.groups, key: entity.userKey, name: entity.id },
  };
  return { record, tMs, sub: micros, id: record.txid, entity: entity.id };
}

function duoLocation(place) {
  return { city: place.city, country: place.country, state: place.state };
}

/** A browser/OS the victim has never used. */
function unfamiliarClient(entity, rng) {
  const { laptop } = entity.person;
  const known = [laptop.primaryBrowser, laptop.secondaryBrowser, ROLLOUT_BROWSER];
  const options = FOREIGN_CLIENTS.filter((c) => !known.includes(c.browser) || c.os !== laptop.os);
  const client = rng.pick(options);
  return { ...client, browserVersion: client.version };
}

function attackerAccess(entity, origin, rng) {
  const client = unfamiliarClient(entity, rng);
  return {
    browser: client.browser,
    browserVersion: client.browserVersion,
    os: client.os,
    osVersion: client.osVersion,
    ip: origin.address.ip,
    place: origin.place,
    managed: false,
  };
}

/** Pushes to the victim's phone at night from abroad; denied, reported or finally approved. */
function accountTakeover(incident, calendar, rng) {
  const { entity, size } = incident;
  const origin = hostileOrigin(entity, rng);
  const access = attackerAccess(entity, origin, rng);
  const enrolsOwnDevice = rng.chance(0.5);
  let tMs = oddHourStart(incident, calendar, rng, size * 5 * MINUTE_MS);
  const victimPhone = victimAuthDevice(entity, tMs);
  const items = [];
  for (let i = 0; i < size; i += 1) {
    const last = i === size - 1;
    let authDevice = victimPhone;
    let verdict = { result: 'denied', reason: rng.pick(['no_response', 'user_cancelled']) };
    if (last && enrolsOwnDevice) {
      authDevice = attackerPhone(origin, rng);
      verdict = { result: 'success', reason: 'user_approved' };
    } else if (last) {
      verdict = { result: 'fraud', reason: 'user_marked_fraud' };
    }
    const application = rng.weighted(entity.apps);
    items.push(
      authLog(rng, {
        entity,
        tMs,
        access,
        application,
        authDevice,
        factor: 'duo_push',
        ...verdict,
      }),
    );
    tMs += rng.int(40_000, 4 * MINUTE_MS);
  }
  return items;
}

/** Many failed second factors within minutes from a new address: a high daily logcount. */
function failureBurst(incident, calendar, rng) {
  const { entity, size } = incident;
  const origin = hostileOrigin(entity, rng);
  const access = attackerAccess(entity, origin, rng);
  let tMs = sameDayStart(incident, calendar, rng, size * MINUTE_MS);
  const authDevice = victimAuthDevice(entity, tMs);
  const items = [];
  for (let i = 0; i < size; i += 1) {
    const lockedOut = i >= size - 2;
    const factor = rng.chance(0.6) ? 'passcode' : 'duo_push';
    let reason =
      factor === 'passcode' ? 'invalid_passcode' : rng.pick(['no_response', 'user_cancelled']);
    if (lockedOut) reason = 'locked_out';
    const application = rng.weighted(entity.apps);
    items.push(
      authLog(rng, {
        entity,
        tMs,
        access,
        application,
        authDevice,
        factor,
        result: 'denied',
        reason,
      }),
    );
    tMs += rng.int(5_000, 50_000);
  }
  return items;
}

/** The victim's own laptop shows up from several far-apart countries on one day. */
function impossibleTravel(incident, calendar, rng) {
  const { entity, size } = incident;
  const places = farApartPlaces(entity, size, rng);
  const gapMs = rng.int(40, 120) * MINUTE_MS;
  let tMs = sameDayStart(incident, calendar, rng, size * gapMs);
  const { laptop } = entity.person;
  return places.map(({ place, address }) => {
    const access = {
      browser: laptop.primaryBrowser,
      browserVersion: BROWSER_VERSIONS[laptop.primaryBrowser].after,
      os: laptop.os,
      osVersion: laptop.osVersion,
      ip: address.ip,
      place,
      managed: laptop.managed,
    };
    const item = authLog(rng, {
      entity,
      tMs,
      access,
      application: rng.weighted(entity.apps),
      authDevice: victimAuthDevice(entity, tMs),
      factor: 'duo_push',
      result: 'success',
      reason: 'user_approved',
    });
    tMs += gapMs + rng.int(0, 20 * MINUTE_MS);
    return item;
  });
}

function victimAuthDevice(entity, tMs) {
  const { person } = entity;
  const phone = usesNewDevice(entity, tMs) ? person.newPhone : person.phone;
  return { ip: person.network.mobile.ip, place: person.home, name: phoneDisplayName(phone) };
}

function attackerPhone(origin, rng) {
  const code = HOSTILE_CALLING_CODES[origin.place.code] ?? '44';
  const name = `Galaxy A12 (+${code} ${rng.digits(3)} ${rng.digits(3)} ${rng.digits(4)})`;
  return { ip: origin.address.ip, place: origin.place, name };
}
