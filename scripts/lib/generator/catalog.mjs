// Static vocabularies shared by the three log sources. Everything here is invented for the
// synthetic organisation "Example Corp" (domain example.com); only public facts such as city
// coordinates, carrier ASNs and Azure AD error texts are real.

export const EMAIL_DOMAIN = 'example.com';
export const COMPANY_SLUG = 'examplecorp';

export const FIRST_NAMES = (
  'Aaron Abby Adrian Aisha Alan Alicia Amir Ana Ben Bianca Carl Carmen Chen Chloe Dana ' +
  'Daniel Deepa Diego Elena Eli Emma Erin Farah Felix Grace Hana Hugo Ines Ivan Jade ' +
  'Jamal Jonas Julia Kai Kenji Lara Leo Lina Marco Maya Nadia Nikhil Nora Omar Paula ' +
  'Priya Quinn Rafael Rita Sam Sara Tariq Tessa Tom Uma Victor Wen Yara Yusuf Zoe'
).split(' ');

export const LAST_NAMES = (
  'Adams Ahmed Alvarez Baker Berg Brooks Campbell Chandra Cho Cruz Dalton Diaz Ellis ' +
  'Evans Fischer Fox Garcia Gupta Hale Hansen Hughes Ito Jensen Kaur Kim Klein Lee ' +
  'Lopez Mason Meyer Moreno Nakamura Novak Okafor Olsen Park Patel Price Quinn Rao ' +
  'Reyes Rossi Sato Schmidt Shah Silva Stone Tan Torres Vogel Walsh Wang Weber Wu Young ' +
  'Zhang'
).split(' ');

export const DEPARTMENTS = {
  Engineering: 5,
  'Data Platform': 2,
  'IT Operations': 2,
  Finance: 1.5,
  Sales: 2,
  Support: 1.5,
  'People Ops': 1,
};

// tz = UTC offset in hours during August (daylight saving where it applies).
export const CITIES = {
  nyc: city('New York', 'New York', 'United States', 'US', 40.7128, -74.006, -4),
  sfo: city('San Francisco', 'California', 'United States', 'US', 37.7749, -122.4194, -7),
  aus: city('Austin', 'Texas', 'United States', 'US', 30.2672, -97.7431, -5),
  chi: city('Chicago', 'Illinois', 'United States', 'US', 41.8781, -87.6298, -5),
  sea: city('Seattle', 'Washington', 'United States', 'US', 47.6062, -122.3321, -7),
  tor: city('Toronto', 'Ontario', 'Canada', 'CA', 43.6532, -79.3832, -4),
  lon: city('London', 'England', 'United Kingdom', 'GB', 51.5072, -0.1276, 1),
  ber: city('Berlin', 'Berlin', 'Germany', 'DE', 52.52, 13.405, 2),
  blr: city('Bengaluru', 'Karnataka', 'India', 'IN', 12.9716, 77.5946, 5.5),
  den: city('Denver', 'Colorado', 'United States', 'US', 39.7392, -104.9903, -6),
  bos: city('Boston', 'Massachusetts', 'United States', 'US', 42.3601, -71.0589, -4),
  mia: city('Miami', 'Florida', 'United States', 'US', 25.7617, -80.1918, -4),
  par: city('Paris', 'Ile-de-France', 'France', 'FR', 48.8566, 2.3522, 2),
  dub: city('Dublin', 'Leinster', 'Ireland', 'IE', 53.3498, -6.2603, 1),
  ams: city('Amsterdam', 'North Holland', 'Netherlands', 'NL', 52.3676, 4.9041, 2),
  sin: city('Singapore', 'Central Singapore', 'Singapore', 'SG', 1.3521, 103.8198, 8),
  tyo: city('Tokyo', 'Tokyo', 'Japan', 'JP', 35.6762, 139.6503, 9),
  syd: city('Sydney', 'New South Wales', 'Australia', 'AU', -33.8688, 151.2093, 10),
  mex: city('Mexico City', 'Mexico City', 'Mexico', 'MX', 19.4326, -99.1332, -5),
  sao: city('Sao Paulo', 'Sao Paulo', 'Brazil', 'BR', -23.5505, -46.6333, -3),
  los: city('Lagos', 'Lagos', 'Nigeria', 'NG', 6.5244, 3.3792, 1),
  buh: city('Bucharest', 'Bucuresti', 'Romania', 'RO', 44.4268, 26.1025, 3),
  sgn: city('Ho Chi Minh City', 'Ho Chi Minh', 'Vietnam', 'VN', 10.8231, 106.6297, 7),
  jkt: city('Jakarta', 'Jakarta', 'Indonesia', 'ID', -6.2088, 106.8456, 7),
  fra: city('Frankfurt am Main', 'Hesse', 'Germany', 'DE', 50.1109, 8.6821, 2),
  mow: city('Moscow', 'Moscow', 'Russia', 'RU', 55.7558, 37.6173, 3),
};

/** Where employees live, with head-count weights (the offices of Example Corp). */
export const HOME_CITY_WEIGHTS = {
  nyc: 5,
  sfo: 4,
  aus: 3,
  chi: 2,
  sea: 2,
  tor: 1.5,
  lon: 2.5,
  ber: 1.5,
  blr: 2,
};

export const TRAVEL_CITIES = ['den', 'bos', 'mia', 'par', 'dub', 'ams', 'sin', 'tyo', 'syd', 'mex'];
export const HOSTILE_CITIES = ['los', 'buh', 'sgn', 'jkt', 'fra', 'mow', 'sao', 'ams'];

// Consumer ISPs per country: ASN and first octets of their (fictionalised) address blocks.
export const ISPS = {
  US: [isp(7922, [73, 98, 24]), isp(7018, [99, 107]), isp(701, [71, 108]), isp(20115, [47, 68])],
  CA: [isp(812, [99, 174]), isp(577, [70, 142])],
  GB: [isp(2856, [81, 86]), isp(5089, [82, 94])],
  DE: [isp(3320, [79, 87]), isp(3209, [88, 94])],
  IN: [isp(24560, [122, 182]), isp(55836, [49, 157])],
  FR: [isp(3215, [90, 86])],
  IE: [isp(5466, [86, 159])],
  NL: [isp(1136, [77, 145])],
  SG: [isp(9506, [118, 175])],
  JP: [isp(4713, [60, 153])],
  AU: [isp(1221, [101, 110])],
  MX: [isp(8151, [187, 189])],
  BR: [isp(28573, [177, 179])],
  NG: [isp(29465, [102, 197])],
  RO: [isp(8708, [86, 89])],
  VN: [isp(7552, [113, 171])],
  ID: [isp(7713, [36, 180])],
  RU: [isp(12389, [95, 178])],
};

export const MOBILE_CARRIERS = {
  US: [isp(21928, [166]), isp(22394, [174])],
  CA: [isp(812, [184])],
  GB: [isp(12576, [92])],
  DE: [isp(3320, [80])],
  IN: [isp(45609, [106])],
};

export const HOSTING_ASNS = [
  isp(14061, [138, 159, 167]),
  isp(16276, [51, 54]),
  isp(9009, [185, 89]),
  isp(24940, [88, 95]),
  isp(20473, [45, 149]),
];

export const OFFICE_ASN = isp(174, [38]);
export const AWS_ASN = isp(14618, [3, 18, 52, 54]);

export const PHONES = {
  ios: ['iPhone 11', 'iPhone 12', 'iPhone 12 mini', 'iPhone 13', 'iPhone 13 Pro', 'iPhone SE'],
  android: ['Pixel 5', 'Pixel 6', 'Pixel 6 Pro', 'Galaxy S21', 'Galaxy S22', 'OnePlus 9'],
};

export const CALLING_CODES = { US: '1', CA: '1', GB: '44', DE: '49', IN: '91' };

// Desktop platforms: Duo/Azure OS names, usual browsers (weights), CLI kernel, UA platform.
export const LAPTOPS = {
  mac: {
    duoOs: 'Mac OS X',
    osVersions: ['12.4', '12.5', '11.6.8'],
    azureOs: 'MacOs',
    browsers: { Chrome: 6, Safari: 3, Firefox: 1 },
    kernel: 'Darwin/21.6.0',
    uaOs: 'Macintosh; Intel Mac OS X 10_15_7',
  },
  windows: {
    duoOs: 'Windows',
    osVersions: ['10', '11'],
    azureOs: 'Windows10',
    browsers: { Chrome: 6, 'Edge Chromium': 3, Firefox: 1 },
    kernel: 'Windows/10',
    uaOs: 'Windows NT 10.0; Win64; x64',
  },
  linux: {
    duoOs: 'Linux',
    osVersions: [''],
    azureOs: 'Linux',
    browsers: { Chrome: 3, Firefox: 2 },
    kernel: 'Linux/5.15.0-46-generic',
    uaOs: 'X11; Linux x86_64',
  },
};

export const LAPTOP_WEIGHTS = { mac: 5, windows: 4, linux: 1 };

// browser -> versions before and after the August auto-update.
export const BROWSER_VERSIONS = {
  Chrome: { before: '103.0.5060.134', after: '104.0.5112.81' },
  'Edge Chromium': { before: '103.0.1264.77', after: '104.0.1293.47' },
  Firefox: { before: '102.0.1', after: '103.0.2' },
  Safari: { before: '15.5', after: '15.6' },
  'Mobile Safari': { before: '15.5', after: '15.6' },
  'Chrome Mobile': { before: '103.0.5060.129', after: '104.0.5112.69' },
};

export const MOBILE_OS = {
  ios: { duoOs: 'iOS', version: '15.6', browser: 'Mobile Safari', azureOs: 'Ios' },
  android: { duoOs: 'Android', version: '12', browser: 'Chrome Mobile', azureOs: 'Android' },
};

/** Browser/OS pairs that attackers show up with (chosen so they differ from the victim's). */
export const FOREIGN_CLIENTS = [
  { platform: 'linux', browser: 'Firefox', version: '91.0', os: 'Linux', osVersion: '' },
  { platform: 'windows', browser: 'Opera', version: '89.0.4447.71', os: 'Windows', osVersion: '7' },
  {
    platform: 'windows',
    browser: 'Chrome',
    version: '99.0.4844.84',
    os: 'Windows',
    osVersion: '8.1',
  },
  {
    platform: 'android',
    browser: 'Samsung Internet',
    version: '17.0',
    os: 'Android',
    osVersion: '9',
  },
];

function city(name, state, country, code, lat, lon, tz) {
  return { city: name, state, country, code, lat, lon, tz };
}

function isp(asn, firstOctets) {
  return { asn, firstOctets };
}
