/**
 * Field case B15: six Azure sign-ins for olivia whose createdDateTime comes in
 * every form seen in the wild, plus two records either side of midnight in
 * Los Angeles (07:00 UTC), which must still fall on one UTC day.
 */
export function b15Records(): Record<string, unknown>[] {
  const created = [
    '2022-08-30T01:54:26.6390830Z',
    '2022-08-30T01:54:26Z',
    '2022-08-30T03:54:26+02:00',
    '2022-08-30T01:54:26',
    '8/30/2022 1:54:26 AM',
    undefined,
  ];
  const records = created.map((c, i) => ({
    time: '2022-08-30T01:56:00Z',
    category: 'SignInLogs',
    durationMs: '0',
    properties: {
      id: `b15-${i}`,
      ...(c === undefined ? {} : { createdDateTime: c }),
      userPrincipalName: 'olivia@example.com',
      appDisplayName: i % 2 ? 'Teams' : 'Outlook',
      clientAppUsed: 'Browser',
      deviceDetail: { browser: 'Edge 104', operatingSystem: 'Windows 10' },
      location: { city: 'Seattle', countryOrRegion: 'US' },
      status: { errorCode: 0 },
    },
  }));
  for (const [i, at] of ['2022-08-30T06:30:00Z', '2022-08-30T07:30:00Z'].entries()) {
    records.push({
      time: at,
      category: 'SignInLogs',
      durationMs: '0',
      properties: {
        id: `la-${i}`,
        createdDateTime: at,
        userPrincipalName: 'pat@example.com',
        appDisplayName: 'Outlook',
        clientAppUsed: 'Browser',
        deviceDetail: { browser: 'Edge 104', operatingSystem: 'Windows 10' },
        location: { city: 'Los Angeles', countryOrRegion: 'US' },
        status: { errorCode: 0 },
      },
    });
  }
  return records;
}
