// The employees of the synthetic organisation. Person i depends only on the seed and on persons
// 0..i-1 (for unique names), so every source sees the same people whatever --users says.

import {
  CALLING_CODES,
  CITIES,
  DEPARTMENTS,
  EMAIL_DOMAIN,
  FIRST_NAMES,
  HOME_CITY_WEIGHTS,
  ISPS,
  LAPTOP_WEIGHTS,
  LAPTOPS,
  LAST_NAMES,
  MOBILE_CARRIERS,
  OFFICE_ASN,
  PHONES,
} from './catalog.mjs';
import { streamFor } from './random.mjs';

const DOTTED_LOGIN_SHARE = 0.4;
const DUO_EMAIL_NAME_SHARE = 0.35;
const SECOND_BROWSER_SHARE = 0.35;
const NANP_AREA_CODES = { nyc: '212', sfo: '415', aus: '512', chi: '312', sea: '206', tor: '416' };

export function buildPopulation(seed, count) {
  const takenLogins = new Set();
  const people = [];
  for (let index = 0; index < count; index += 1) {
    people.push(buildPerson(seed, index, takenLogins));
  }
  return people;
}

function buildPerson(seed, index, takenLogins) {
  const rng = streamFor(seed, `person/${index}`);
  const { first, last, login } = uniqueName(rng, takenLogins);
  const homeId = rng.weighted(HOME_CITY_WEIGHTS);
  const home = CITIES[homeId];
  const email = `${login}@${EMAIL_DOMAIN}`;
  const platform = rng.weighted(LAPTOP_WEIGHTS);
  const phone = buildPhone(rng, homeId);
  return {
    index,
    first,
    last,
    displayName: `${first} ${last}`,
    login,
    email,
    duoName: rng.chance(DUO_EMAIL_NAME_SHARE) ? email : login,
    department: rng.weighted(DEPARTMENTS),
    homeId,
    home,
    schedule: {
      startHour: rng.float(7.5, 10),
      lengthHours: rng.float(8, 10),
      weekendFactor: rng.float(0.15, 0.4),
      offHoursShare: rng.float(0.03, 0.09),
      remoteShare: rng.float(0.2, 0.8),
    },
    laptop: buildLaptop(rng, platform),
    newLaptop: buildLaptop(rng, platform),
    phone,
    newPhone: replacementPhone(rng, phone, homeId),
    network: {
      home: addressIn(rng, ISPS[home.code]),
      mobile: addressIn(rng, MOBILE_CARRIERS[home.code] ?? ISPS[home.code]),
      office: officeAddress(seed, homeId),
    },
  };
}

function uniqueName(rng, takenLogins) {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const dotted = rng.chance(DOTTED_LOGIN_SHARE);
  const base = dotted ? `${first}.${last}`.toLowerCase() : `${first[0]}${last}`.toLowerCase();
  let login = base;
  for (let suffix = 2; takenLogins.has(login); suffix += 1) login = `${base}${suffix}`;
  takenLogins.add(login);
  return { first, last, login };
}

function buildLaptop(rng, platform) {
  const spec = LAPTOPS[platform];
  const primary = rng.weighted(spec.browsers);
  const others = Object.keys(spec.browsers).filter((name) => name !== primary);
  const secondary = rng.chance(SECOND_BROWSER_SHARE) ? rng.pick(others) : null;
  return {
    platform,
    os: spec.duoOs,
    osVersion: rng.pick(spec.osVersions),
    azureOs: spec.azureOs,
    primaryBrowser: primary,
    secondaryBrowser: secondary,
    secondaryShare: rng.float(0.1, 0.3),
    arch: platform === 'mac' && rng.chance(0.5) ? 'arm64' : 'x86_64',
    hostname: `${platform === 'mac' ? 'MBP' : 'LT'}-${rng.upperAlnum(7)}`,
    deviceId: rng.uuid(),
    managed: platform !== 'linux',
  };
}

function buildPhone(rng, homeId) {
  const platform = rng.chance(0.6) ? 'ios' : 'android';
  return {
    platform,
    model: rng.pick(PHONES[platform]),
    number: phoneNumber(rng, homeId),
    style: rng.pick(['e164', 'e164', 'labelled']),
    deviceId: rng.uuid(),
  };
}

/** A new handset; the Duo device name must change, so plain-number users also get a new number. */
function replacementPhone(rng, phone, homeId) {
  const models = PHONES[phone.platform].filter((model) => model !== phone.model);
  return {
    ...phone,
    model: rng.pick(models),
    number: phone.style === 'e164' ? phoneNumber(rng, homeId) : phone.number,
    deviceId: rng.uuid(),
  };
}

function phoneNumber(rng, homeId) {
  const code = CITIES[homeId].code;
  const countryCode = CALLING_CODES[code] ?? '1';
  if (NANP_AREA_CODES[homeId]) {
    return { countryCode, national: `${NANP_AREA_CODES[homeId]}-555-01${rng.digits(2)}` };
  }
  if (code === 'GB') return { countryCode, national: `7700 900${rng.digits(3)}` };
  if (code === 'DE') return { countryCode, national: `151 5550${rng.digits(4)}` };
  return { countryCode, national: `98450 1${rng.digits(4)}` };
}

/** The name Duo shows for an enrolled phone, e.g. "+1 (212) 555-0147". */
export function phoneDisplayName(phone) {
  const { countryCode, national } = phone.number;
  const dialled =
    countryCode === '1'
      ? `+1 (${national.slice(0, 3)}) ${national.slice(4)}`
      : `+${countryCode} ${national}`;
  return phone.style === 'e164' ? dialled : `My ${phone.model} (${national})`;
}

/** A public address and its ASN drawn from one of the given providers. */
export function addressIn(rng, providers) {
  const provider = rng.pick(providers);
  const first = rng.pick(provider.firstOctets);
  const ip = `${first}.${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  return { ip, asn: provider.asn };
}

/** Everyone in one office shares its egress address. */
function officeAddress(seed, homeId) {
  return addressIn(streamFor(seed, `office/${homeId}`), [OFFICE_ASN]);
}

export function cityOf(id) {
  return { id, ...CITIES[id] };
}
