/**
 * Finds the definition of a source: a built-in name (`duo`, `azure`,
 * `cloudtrail`) or a JSON/YAML schema file, so that a new kind of log needs only
 * a schema file and no code.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DfpError, ErrorCodes, errorMessage } from '../errors';
import { builtinSources, getBuiltinSource } from './builtin';
import type { SourceDefinition } from './types';
import { validateSourceDefinition } from './validate';

const SCHEMA_EXTENSIONS = ['.json', '.yaml', '.yml'];

function invalid(message: string, origin: string, cause?: unknown): DfpError {
  return new DfpError(ErrorCodes.SCHEMA_INVALID, message, { cause, details: { file: origin } });
}

/**
 * Parses and validates the text of a schema file; `origin` names the file in
 * errors and its extension picks the format (YAML unless it ends in `.json`).
 */
export function parseSourceDefinition(text: string, origin: string): SourceDefinition {
  let doc: unknown;
  if (extname(origin).toLowerCase() === '.json') {
    try {
      doc = JSON.parse(text) as unknown;
    } catch (err) {
      throw invalid(
        `invalid source schema ${origin}: not valid JSON: ${errorMessage(err)}`,
        origin,
      );
    }
  } else {
    try {
      doc = parseYaml(text) as unknown;
    } catch (err) {
      // The yaml package's first message line already says "at line L, column C".
      const reason = errorMessage(err).split('\n')[0].replace(/:$/, '');
      throw invalid(`invalid source schema ${origin}: not valid YAML: ${reason}`, origin, err);
    }
  }
  return validateSourceDefinition(doc, origin);
}

/**
 * A built-in source by name, or the source described by a `.json`, `.yaml` or
 * `.yml` schema file (validated; errors name the file and the JSON path).
 */
export async function loadSourceDefinition(pathOrName: string): Promise<SourceDefinition> {
  const builtin = getBuiltinSource(pathOrName);
  if (builtin) return builtin;

  if (!SCHEMA_EXTENSIONS.includes(extname(pathOrName).toLowerCase())) {
    throw invalid(
      `unknown source "${pathOrName}": use one of ${Object.keys(builtinSources).join(', ')} ` +
        `or a path to a ${SCHEMA_EXTENSIONS.join('/')} schema file`,
      pathOrName,
    );
  }
  let text: string;
  try {
    text = await readFile(pathOrName, 'utf8');
  } catch (err) {
    throw invalid(`cannot read source schema ${pathOrName}: ${errorMessage(err)}`, pathOrName, err);
  }
  return parseSourceDefinition(text, pathOrName);
}
