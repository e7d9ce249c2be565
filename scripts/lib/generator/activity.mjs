// When each entity is active and under which circumstances (home, travelling, new device, busy
// day, after a rollout). Sources turn these "moments" into records of their own shape.

import { CITIES, HOSTILE_CITIES, HOSTING_ASNS, ISPS, TRAVEL_CITIES } from './catalog.mjs';
import { addressIn, cityOf } from './people.mjs';
import { DAY_MS, HOUR_MS, isWeekend, MINUTE_MS } from './time.mjs';

/** Training records per entity over the default month (the model wants >= 300 rows). */
export const TRAINING_RECORDS_PER_ENTITY = [370, 450];
/** Length of that default month (the Morpheus example data covers 2022-08-01..29). */
const REFERENCE_DAYS = 29;
/** Share of the org that is in each kind of benign novelty. */
const INFERENCE_TRAVEL_SHARE = 0.06;
const INFERENCE_NEW_DEVICE_SHARE = 0.04;
const INFERENCE_BUSY_SHARE = 0.06;
/** Late adopters meet the organisation-wide rollout only in the inference days. */
const LATE_ADOPTER_SHARE = 0.12;
const TRAINING_TRAVEL_SHARE = 0.12;
const TRAINING_NEW_DEVICE_SHARE = 0.08;
const TRAINING_BUSY_DAYS = [1, 2];
const BUSY_MULTIPLIER = [1.5, 2];
const TRIP_DAYS = [3, 5];
/** The organisation-wide rollout starts this far into the training period. */
const ROLLOUT_DAY_FRACTION = 0.6;
const ROLLOUT_ADOPTION_DAYS = 2;
/** Anomalous records as a share of the normal inference records (~5 % of all). */
const ANOMALY_SHARE = 0.052;
const MAX_INCIDENTS = 200;

/**
 * Decides who travels, changes device or has busy days, and when each entity adopts the
 * rollout. Entities in benign inference novelty are kept apart from anomaly victims when
 * the population is large enough.
 */
export function planNovelty(entities, calendar, rng) {
  const count = entities.length;
  const pool = rng.shuffle(entities.map((_, index) => index));
  const take = (share) => pool.splice(0, Math.min(atLeastOne(count * share), pool.length));
  const inferenceTravel = new Set(take(INFERENCE_TRAVEL_SHARE));
  const inferenceNewDevice = new Set(take(INFERENCE_NEW_DEVICE_SHARE));
  const inferenceBusy = new Set(take(INFERENCE_BUSY_SHARE));
  const lateAdopters = new Set(take(LATE_ADOPTER_SHARE));
  const trainingTravel = new Set(
    rng.sample([...entities.keys()], atLeastOne(count * TRAINING_TRAVEL_SHARE)),
  );
  const newDeviceCandidates = [...entities.keys()].filter((i) => !inferenceNewDevice.has(i));
  const trainingNewDevice = new Set(
    rng.sample(newDeviceCandidates, atLeastOne(count * TRAINING_NEW_DEVICE_SHARE)),
  );
  const rolloutDay = Math.floor(calendar.trainingDays * ROLLOUT_DAY_FRACTION);

  const plans = entities.map((entity, index) => {
    const late = lateAdopters.has(index);
    const adoptionDay = late
      ? calendar.trainingDays + rng.float(0, 0.5)
      : rolloutDay + rng.float(0, ROLLOUT_ADOPTION_DAYS);
    const plan = {
      entity,
      trips: [],
      busyDays: new Map(),
      newDeviceFromMs: null,
      newDeviceLabelled: false,
      rolloutFromMs: calendar.startMs + adoptionDay * DAY_MS,
      rolloutLabelled: late,
    };
    if (trainingTravel.has(index)) plan.trips.push(trainingTrip(entity, calendar, rng));
    if (inferenceTravel.has(index)) plan.trips.push(inferenceTrip(entity, calendar, rng));
    if (trainingNewDevice.has(index)) {
      const { trainingDays } = calendar;
      const day = rng.int(Math.floor(trainingDays * 0.35), Math.floor(trainingDays * 0.75));
      plan.newDeviceFromMs = calendar.startMs + (day + rng.float(0.3, 0.6)) * DAY_MS;
    }
    if (inferenceNewDevice.has(index)) {
      const day = calendar.trainingDays + rng.int(0, calendar.inferenceDays - 1);
      plan.newDeviceFromMs = calendar.startMs + (day + rng.float(0.2, 0.6)) * DAY_MS;
      plan.newDeviceLabelled = true;
    }
    for (let i = rng.int(...TRAINING_BUSY_DAYS); i > 0; i -= 1) {
      plan.busyDays.set(rng.int(0, calendar.trainingDays - 1), rng.float(...BUSY_MULTIPLIER));
    }
    if (inferenceBusy.has(index)) {
      const day = calendar.trainingDays + rng.int(0, calendar.inferenceDays - 1);
      plan.busyDays.set(day, rng.float(...BUSY_MULTIPLIER));
    }
    // Incidents need to know which phone/laptop the victim had at the time.
    entity.newDeviceFromMs = plan.newDeviceFromMs;
    return plan;
  });
  return { plans, anomalyPreferred: pool.map((index) => entities[index]) };
}

function atLeastOne(value) {
  return Math.max(1, Math.round(value));
}

function trainingTrip(entity, calendar, rng) {
  const length = rng.int(...TRIP_DAYS);
  const latestStart = Math.max(1, calendar.trainingDays - length - 1);
  const fromDay = rng.int(Math.min(2, latestStart), latestStart);
  const toDay = Math.min(fromDay + length, calendar.trainingDays);
  return makeTrip(entity, fromDay, toDay, false, rng);
}

/** A trip that covers the inference days (it may have started on the last training day). */
function inferenceTrip(entity, calendar, rng) {
  const fromDay = calendar.trainingDays - rng.int(0, 1);
  const toDay = Math.max(fromDay + rng.int(...TRIP_DAYS), calendar.trainingDays + 1);
  return makeTrip(entity, fromDay, toDay, true, rng);
}

function makeTrip(entity, fromDay, toDay, labelled, rng) {
  const homeId = entity.person.homeId;
  const cityId = rng.pick(TRAVEL_CITIES.filter((id) => id !== homeId));
  const place = cityOf(cityId);
  return { fromDay, toDay, place, address: addressIn(rng, ISPS[place.code]), labelled };
}

/**
 * Every moment a human entity is active, in time order. A moment carries the place, the
 * day's circumstances and whether the new device / rollout apply yet.
 */
export function humanMoments(plan, calendar, rng, { burstFollow }) {
  const { person } = plan.entity;
  const rate = dailyRate(plan, rng);
  const moments = [];
  const totalDays = calendar.trainingDays + calendar.inferenceDays;
  // Local days one either side so that time zones far from UTC still fill the edges.
  for (let day = -1; day <= totalDays; day += 1) {
    const localMidnight = calendar.startMs + day * DAY_MS;
    const trip = plan.trips.find((t) => day >= t.fromDay && day < t.toDay) ?? null;
    const place = trip ? trip.place : cityOf(person.homeId);
    const weekend = isWeekend(localMidnight);
    const atHome = weekend || rng.chance(person.schedule.remoteShare);
    const address = trip ? trip.address : atHome ? person.network.home : person.network.office;
    const busy = plan.busyDays.get(day) ?? 1;
    const mean = rate * (weekend ? person.schedule.weekendFactor : 1) * busy;
    const hours = localHours(rng.poisson(mean), person.schedule, weekend, rng, burstFollow);
    for (const hour of hours) {
      const tMs = Math.round(localMidnight + (hour - place.tz) * HOUR_MS);
      if (tMs < calendar.startMs || tMs >= calendar.endMs) continue;
      moments.push({
        entity: plan.entity,
        tMs,
        place,
        address,
        trip,
        busyLabelled: busy > 1 && day >= calendar.trainingDays,
        newDevice: plan.newDeviceFromMs !== null && tMs >= plan.newDeviceFromMs,
        newDeviceLabelled: plan.newDeviceLabelled,
        rolloutAdopted: tMs >= plan.rolloutFromMs,
        rolloutLabelled: plan.rolloutLabelled,
      });
    }
  }
  return moments.sort((a, b) => a.tMs - b.tMs);
}

/**
 * Mean records per ordinary weekday. The rate is fixed per entity (not per run length) so that
 * a default month lands the entity's training total in TRAINING_RECORDS_PER_ENTITY.
 */
function dailyRate(plan, rng) {
  const target = rng.int(...TRAINING_RECORDS_PER_ENTITY);
  const { weekendFactor } = plan.entity.person.schedule;
  return target / ((REFERENCE_DAYS * (5 + 2 * weekendFactor)) / 7);
}

/** Hours (local, fractional) of `count` events on one day; some follow the previous closely. */
function localHours(count, schedule, weekend, rng, burstFollow) {
  const hours = [];
  for (let i = 0; i < count; i += 1) {
    if (i > 0 && rng.chance(burstFollow)) {
      hours.push(hours[i - 1] + rng.float(5, 240) / 3600);
    } else {
      hours.push(weekend ? rng.float(10, 20) : workHour(schedule, rng));
    }
  }
  return hours.map((hour) => Math.min(hour, 23.99));
}

function workHour(schedule, rng) {
  const { startHour, lengthHours, offHoursShare } = schedule;
  if (!rng.chance(offHoursShare)) return startHour + rng.float(0, lengthHours);
  return rng.chance(0.7)
    ? startHour + lengthHours + rng.float(0.5, 4)
    : Math.max(0, startHour - rng.float(0.5, 2));
}

/** A machine identity: a fixed sequence of calls every `periodMs`, around the clock. */
export function serviceMoments(entity, calendar, rng) {
  const steps = entity.sequence.length;
  const target = rng.int(...TRAINING_RECORDS_PER_ENTITY);
  const periodMinutes = (REFERENCE_DAYS * 1440 * steps) / target;
  const periodMs = Math.max(5, Math.round(periodMinutes / 5) * 5) * MINUTE_MS;
  const moments = [];
  for (let run = calendar.startMs + rng.int(0, periodMs); run < calendar.endMs; run += periodMs) {
    let tMs = run + rng.int(0, 90_000);
    for (let step = 0; step < steps; step += 1) {
      if (tMs >= calendar.endMs) break;
      moments.push({ entity, tMs, step });
      tMs += rng.int(400, 15_000);
    }
  }
  return moments;
}

/**
 * Picks incidents until the anomalous records reach the target share; every kind occurs at
 * least once. `kinds` = [{ kind, size: [min, max], eligible(entity) }].
 */
export function planIncidents({ kinds, entities, preferred, calendar, normalCount, rng }) {
  const target = Math.round(normalCount * ANOMALY_SHARE);
  const victims = new Set();
  const incidents = [];
  const order = rng.shuffle(kinds);
  let total = 0;
  for (let i = 0; (i < order.length || total < target) && i < MAX_INCIDENTS; i += 1) {
    const spec = order[i % order.length];
    const entity = chooseVictim(spec, entities, preferred, victims, rng);
    if (!entity) continue;
    victims.add(entity);
    const size = rng.int(...spec.size);
    const day = calendar.trainingDays + rng.int(0, calendar.inferenceDays - 1);
    incidents.push({ kind: spec.kind, entity, size, dayStartMs: calendar.startMs + day * DAY_MS });
    total += size;
  }
  return incidents;
}

function chooseVictim(spec, entities, preferred, victims, rng) {
  const fresh = (list) => list.filter((e) => spec.eligible(e) && !victims.has(e));
  const candidates = [fresh(preferred), fresh(entities), entities.filter(spec.eligible)];
  const list = candidates.find((c) => c.length > 0);
  return list ? rng.pick(list) : null;
}

/** Start of an incident at an odd local hour (01:00-05:00 at the victim's home) in range. */
export function oddHourStart(incident, calendar, rng, durationMs) {
  const tz = incident.entity.person?.home.tz ?? 0;
  let start = incident.dayStartMs + (rng.float(1, 5) - tz) * HOUR_MS;
  if (start < calendar.trainingEndMs) start += DAY_MS;
  if (start + durationMs >= calendar.endMs) start -= DAY_MS;
  return clampToInference(start, calendar, durationMs);
}

/** Start somewhere in the incident's UTC day such that `durationMs` still fits in that day. */
export function sameDayStart(incident, calendar, rng, durationMs) {
  const latest = Math.max(0, DAY_MS - durationMs - 10 * MINUTE_MS);
  return clampToInference(incident.dayStartMs + rng.float(0, latest), calendar, durationMs);
}

function clampToInference(start, calendar, durationMs) {
  const latest = calendar.endMs - durationMs - 1;
  return Math.round(Math.min(Math.max(start, calendar.trainingEndMs), latest));
}

/** A hostile location outside the victim's home country, with a hosting-provider address. */
export function hostileOrigin(entity, rng) {
  const homeCode = entity.person?.home.code;
  const ids = HOSTILE_CITIES.filter((id) => CITIES[id].code !== homeCode);
  const place = cityOf(rng.pick(ids));
  return { place, address: addressIn(rng, HOSTING_ASNS) };
}

/** `count` far-apart cities in distinct countries, none in the entity's home country. */
export function farApartPlaces(entity, count, rng) {
  const usedCountries = new Set([entity.person.home.code]);
  const places = [];
  for (const id of rng.shuffle([...TRAVEL_CITIES, ...HOSTILE_CITIES])) {
    if (places.length === count || usedCountries.has(CITIES[id].code)) continue;
    usedCountries.add(CITIES[id].code);
    const place = cityOf(id);
    places.push({ place, address: addressIn(rng, ISPS[place.code] ?? HOSTING_ASNS) });
  }
  return places;
}

/** Whether the entity had switched to its new device/phone/laptop by `tMs`. */
export function usesNewDevice(entity, tMs) {
  return entity.newDeviceFromMs != null && tMs >= entity.newDeviceFromMs;
}

/**
 * Maps a moment's circumstances to its label kind once the source knows what it rendered. Only
 * novelty that is new in the inference days gets a benign kind; what already happened during
 * training is simply normal by then.
 */
export function benignKind(moment, { usedNewDevice, usedRollout }) {
  if (moment.trip?.labelled) return 'benign_travel';
  if (usedNewDevice && moment.newDeviceLabelled) return 'benign_new_device';
  if (usedRollout && moment.rolloutLabelled) return 'benign_rollout';
  if (moment.busyLabelled) return 'busy_day';
  return 'normal';
}
