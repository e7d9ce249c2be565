// User-agent strings for browsers, phones and command-line tools.

import { LAPTOPS } from './catalog.mjs';

const WEBKIT = 'AppleWebKit/537.36 (KHTML, like Gecko)';
const SAFARI_WEBKIT = 'AppleWebKit/605.1.15 (KHTML, like Gecko)';

export function browserUserAgent(platform, browser, version) {
  const os = LAPTOPS[platform]?.uaOs ?? LAPTOPS.windows.uaOs;
  const major = version.split('.')[0];
  switch (browser) {
    case 'Firefox':
      return `Mozilla/5.0 (${os}; rv:${major}.0) Gecko/20100101 Firefox/${major}.0`;
    case 'Safari':
      return `Mozilla/5.0 (${os}) ${SAFARI_WEBKIT} Version/${version} Safari/605.1.15`;
    case 'Edge Chromium':
      return `Mozilla/5.0 (${os}) ${WEBKIT} Chrome/${major}.0.0.0 Safari/537.36 Edg/${version}`;
    case 'Opera':
      return `Mozilla/5.0 (${os}) ${WEBKIT} Chrome/103.0.0.0 Safari/537.36 OPR/${version}`;
    default:
      return `Mozilla/5.0 (${os}) ${WEBKIT} Chrome/${major}.0.0.0 Safari/537.36`;
  }
}

export function phoneUserAgent(phone, chromeVersion) {
  if (phone.platform === 'ios') {
    return `Mozilla/5.0 (iPhone; CPU iPhone OS 15_6 like Mac OS X) ${SAFARI_WEBKIT} Mobile/15E148`;
  }
  const device = `Linux; Android 12; ${phone.model}`;
  return `Mozilla/5.0 (${device}) ${WEBKIT} Chrome/${chromeVersion} Mobile Safari/537.36`;
}

/** Desktop/mobile "rich clients" (Teams, Outlook, OneDrive ...) as Azure AD reports them. */
export function richClientUserAgent(platform, appName) {
  const os = LAPTOPS[platform]?.uaOs ?? 'iPhone; iOS 15.6';
  return `Mozilla/5.0 (${os}) ${WEBKIT} ${appName.replace(/\s+/g, '')}/1.0 Safari/537.36`;
}

/** aws-cli v2 as it reports itself in CloudTrail. */
export function awsCliUserAgent(laptop, cliVersion) {
  const kernel = laptop.kernel ?? LAPTOPS[laptop.platform].kernel;
  return `aws-cli/${cliVersion} Python/3.9.11 ${kernel} exe/${laptop.arch} prompt/off`;
}
