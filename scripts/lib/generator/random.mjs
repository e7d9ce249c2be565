// Seeded randomness. Every stream is derived from (seed, label), so adding a source, an entity or
// a new kind of event never shifts the numbers that another stream produces.

const UINT32 = 4294967296;
const WARM_UP_ROUNDS = 12;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const UPPER_ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const HEX = '0123456789abcdef';

/** 32-bit FNV-1a hash of a string. */
export function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** splitmix32: spreads one 32-bit seed over the four words of the main generator. */
function splitmix32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** sfc32 ("small fast counting") generator; returns floats in [0, 1). */
function sfc32(a, b, c, d) {
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / UINT32;
  };
}

export class Rng {
  constructor(seedText) {
    const mix = splitmix32(fnv1a(seedText));
    this.next = sfc32(mix(), mix(), mix(), mix());
    for (let i = 0; i < WARM_UP_ROUNDS; i += 1) this.next();
  }

  float(min = 0, max = 1) {
    return min + (max - min) * this.next();
  }

  /** Integer in [min, max], both inclusive. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability) {
    return this.next() < probability;
  }

  pick(items) {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Picks from [[value, weight], ...] or from a {value: weight} object. */
  weighted(choices) {
    const pairs = Array.isArray(choices) ? choices : Object.entries(choices);
    const total = pairs.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [value, weight] of pairs) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return pairs[pairs.length - 1][0];
  }

  shuffle(items) {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  }

  sample(items, count) {
    return this.shuffle(items).slice(0, Math.min(count, items.length));
  }

  /** Knuth's method; fine for the small daily rates used here (lambda < 60). */
  poisson(lambda) {
    const limit = Math.exp(-lambda);
    let product = this.next();
    let count = 0;
    while (product > limit) {
      product *= this.next();
      count += 1;
    }
    return count;
  }

  /** Box-Muller normal variate. */
  normal(mean = 0, sd = 1) {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  chars(length, alphabet) {
    let text = '';
    for (let i = 0; i < length; i += 1) text += alphabet[Math.floor(this.next() * alphabet.length)];
    return text;
  }

  hex(length) {
    return this.chars(length, HEX);
  }

  base62(length) {
    return this.chars(length, BASE62);
  }

  upperAlnum(length) {
    return this.chars(length, UPPER_ALNUM);
  }

  digits(length) {
    return this.chars(length, '0123456789');
  }

  /** Random (version 4) UUID. */
  uuid() {
    const variant = '89ab'[Math.floor(this.next() * 4)];
    const h = this.hex(30);
    const parts = [h.slice(0, 8), h.slice(8, 12), `4${h.slice(12, 15)}`];
    return `${parts.join('-')}-${variant}${h.slice(15, 18)}-${h.slice(18)}`;
  }
}

/** The stream for one purpose under one seed. */
export function streamFor(seed, label) {
  return new Rng(`${seed}|${label}`);
}
