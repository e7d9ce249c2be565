/**
 * One name function for model registries, shared by training and inference.
 *
 * Entity ids are arbitrary strings (e-mail addresses, ARNs, `ops/build:bot`,
 * names with spaces or non-ASCII letters). Registries are stricter: MLflow on
 * Databricks rejects `.`, `/` and `:`, and Unity Catalog folds case. So only
 * `[a-z0-9-]` pass through; every other character, `_` and capitals included,
 * becomes `_` plus the lowercase hex of its UTF-8 bytes (`.` → `_2e`). The
 * encoding is reversible, so no two ids share a name, and it never produces
 * `generic_user`, which names the fallback model over all entities.
 */

import { createHash } from 'node:crypto';

export const GENERIC_ENTITY_NAME = 'generic_user';

/**
 * Longest encoded id kept whole. Longer ones (a long id, or many non-ASCII
 * letters at 6–9 characters each) keep a prefix plus `_h` and a SHA-256 digest:
 * still distinct, within file-name and registry limits, but not reversible.
 */
export const MAX_ENCODED_LENGTH = 160;

const PASS_THROUGH = /^[a-z0-9-]$/;

/** Encodes an entity id into registry-safe characters (reversible). */
export function encodeEntityId(entityId: string): string {
  let out = '';
  for (const ch of entityId) {
    if (PASS_THROUGH.test(ch)) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, 'utf8')) out += '_' + byte.toString(16).padStart(2, '0');
    }
  }
  return out;
}

/** Inverse of `encodeEntityId`. Throws on text that no id encodes to. */
export function decodeEntityId(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const ch = encoded[i];
    if (ch === '_') {
      const hex = encoded.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) throw new Error(`not an encoded entity id: ${encoded}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (PASS_THROUGH.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      throw new Error(`not an encoded entity id: ${encoded}`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `DFP-<source>-<encoded entity>`, or `DFP-<source>-generic_user` for the generic model. */
export function modelName(source: string, entity: string | null): string {
  const suffix = entity === null ? GENERIC_ENTITY_NAME : boundedEncoding(entity);
  return `DFP-${encodeEntityId(source)}-${suffix}`;
}

function boundedEncoding(entity: string): string {
  const encoded = encodeEntityId(entity);
  if (encoded.length <= MAX_ENCODED_LENGTH) return encoded;
  // `_h` never occurs in a plain encoding (escapes are `_` + two hex digits).
  const digest = createHash('sha256').update(entity, 'utf8').digest('hex').slice(0, 32);
  return `${encoded.slice(0, MAX_ENCODED_LENGTH - 34)}_h${digest}`;
}

/** The entity of a name made by `modelName` for `source`; undefined when it is not one. */
export function entityOfModelName(name: string, source: string): string | null | undefined {
  const prefix = `DFP-${encodeEntityId(source)}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  if (rest === GENERIC_ENTITY_NAME) return null;
  try {
    return decodeEntityId(rest);
  } catch {
    return undefined;
  }
}
