/**
 * A service's one configuration, read from the environment at start: the
 * HTTP settings (DFP_PORT, DFP_HOST, DFP_API_TOKEN, DFP_BODY_LIMIT_BYTES,
 * DFP_TRAIN_SCHEDULE_S) and the pipeline's, from the same DFP_* variables as
 * the `dfp` command line. Every bad setting is reported at once, each with its
 * variable, and the result is frozen.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { buildProgram, cliOptions } from '../cli/main';
import { type RawOptions, buildConfig, buildKafkaOptions } from '../config/options';
import { DfpError, ErrorCodes, errorMessage } from '../errors';
import type { PipelineConfig } from '../pipeline/config';
import type { KafkaInferenceOptions } from '../pipeline/kafka-inference';
import { loadSourceDefinition } from '../schema/loader';

export type ServiceKind = 'training' | 'inference';

export interface ServiceSettings {
  kind: ServiceKind;
  host: string;
  port: number;
  /** Bearer token for every endpoint that changes state; null leaves them disabled. */
  apiToken: string | null;
  bodyLimitBytes: number;
  /** Training: folders that `POST /train` may read (S3 locations are always allowed). */
  trainInputRoots: string[];
  /** Training: retrain the configured inputs this often; null = never. */
  trainScheduleMs: number | null;
  /** The configured inputs run as the service's main work (Kafka or a watch), if any. */
  mainWork: 'kafka' | 'watch' | 'none';
  mlBackend: string;
  scoringEngine: string;
  logLevel: string;
  /** The pipeline configuration (its inputs empty when the service only answers requests). */
  pipeline: PipelineConfig;
  kafka: KafkaInferenceOptions | null;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name}=${JSON.stringify(raw)}: must be an integer from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

type Raw = RawOptions & { mlBackend?: string; scoringEngine?: string };

interface PipelineSettings {
  raw: Raw;
  pipeline: PipelineConfig | null;
  kafka: KafkaInferenceOptions | null;
  hasInputs: boolean;
  problems: string[];
}

/** The pipeline settings: the command line's parser and checks over the environment alone. */
async function pipelineSettings(
  kind: ServiceKind,
  env: NodeJS.ProcessEnv,
): Promise<PipelineSettings> {
  const problems: string[] = [];
  let raw = {} as Raw;
  const saved = process.env;
  try {
    process.env = { ...env };
    const program = buildProgram()
      .exitOverride()
      .configureOutput({
        writeErr: (text) => problems.push(text.trim()),
        writeOut: () => undefined,
      });
    program.parse(['node', `dfp-${kind}`]);
    raw = cliOptions(program) as unknown as Raw;
  } catch {
    // commander already wrote the reason to problems
  } finally {
    process.env = saved;
  }
  if (kind === 'inference') raw.trainUsers = 'none';
  else if (raw.trainUsers === 'none') {
    problems.push(
      'DFP_TRAIN_USERS=none: the training service trains; use all, generic or individual',
    );
  }

  let pipeline: PipelineConfig | null = null;
  let kafka: KafkaInferenceOptions | null = null;
  const hasInputs = (raw.inputFile?.length ?? 0) > 0 || (raw.inputTopic?.length ?? 0) > 0;
  if (problems.length > 0) return { raw, pipeline, kafka, hasInputs, problems };
  try {
    const source = await loadSourceDefinition(raw.source ?? 'duo');
    // Without inputs, the service only answers requests; a placeholder input keeps the
    // shared validation (it is never read).
    const withInputs = hasInputs ? raw : { ...raw, inputFile: ['(from requests)'] };
    const built = buildConfig({ ...withInputs, progress: false }, source);
    // Detections, rejects and dead letters beside the state, not in the working directory
    // (read-only in the images), unless set.
    const outDir = env.DFP_OUTPUT_DIR || join(dirname(resolve(raw.cacheDir)), 'out');
    const placed = {
      ...built,
      output: raw.output ?? join(outDir, basename(built.output)),
      rejectsFile: raw.rejectsFile ?? join(outDir, basename(built.rejectsFile)),
      deadLetterFile: raw.deadLetterFile ?? join(outDir, basename(built.deadLetterFile)),
    };
    pipeline = hasInputs ? placed : { ...placed, inputs: [] };
    kafka = buildKafkaOptions(raw, source);
  } catch (err) {
    problems.push(err instanceof DfpError ? err.message : errorMessage(err));
  }
  return { raw, pipeline, kafka, hasInputs, problems };
}

/**
 * The parser and the checks stop at the first bad pipeline setting. To list every one, the
 * variable behind each problem is found (the one whose removal makes that problem go away),
 * named, and set aside, and the rest checked again; a problem no single variable explains is
 * listed as it is, and ends the search.
 */
async function isolate(
  kind: ServiceKind,
  env: NodeJS.ProcessEnv,
  problems: string[],
): Promise<string[]> {
  const names = buildProgram()
    .options.map((o) => o.envVar)
    .filter((v): v is string => v !== undefined)
    .sort();
  const found: string[] = [];
  let current: NodeJS.ProcessEnv = { ...env };
  let first: string | undefined = problems[0];
  // Each round sets one variable aside, so the search ends.
  while (first !== undefined) {
    const problem: string = first;
    let culprit: string | undefined;
    for (const name of names) {
      if (current[name] === undefined) continue;
      const rest = { ...current };
      delete rest[name];
      const next = (await pipelineSettings(kind, rest)).problems[0];
      if (next !== problem) {
        found.push(`${name}=${JSON.stringify(current[name])}: ${problem}`);
        culprit = name;
        current = rest;
        first = next;
        break;
      }
    }
    if (culprit === undefined) {
      found.push(problem);
      break;
    }
  }
  return found;
}

/** Reads and validates the settings; throws one error listing every bad setting. */
export async function loadServiceSettings(
  kind: ServiceKind,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServiceSettings> {
  const problems: string[] = [];
  const port = integer(env, 'DFP_PORT', kind === 'training' ? 8080 : 8081, 0, 65535, problems);
  const bodyLimitBytes = integer(
    env,
    'DFP_BODY_LIMIT_BYTES',
    10 * 1024 * 1024,
    1,
    2 ** 30,
    problems,
  );
  const scheduleS = integer(env, 'DFP_TRAIN_SCHEDULE_S', 0, 0, 365 * 86400, problems);
  const token = env.DFP_API_TOKEN ?? '';
  if (token !== '' && token.length < 16) {
    problems.push('DFP_API_TOKEN: must be at least 16 characters');
  }
  if (/^change-?me/i.test(token)) {
    problems.push('DFP_API_TOKEN: still the placeholder of .env.sample; set a random token');
  }

  const built = await pipelineSettings(kind, env);
  if (built.problems.length > 0) problems.push(...(await isolate(kind, env, built.problems)));
  const { raw, pipeline, kafka, hasInputs } = built;
  if (problems.length > 0) {
    throw new DfpError(
      ErrorCodes.CONFIG_INVALID,
      `the ${kind} service cannot start:\n  - ${problems.join('\n  - ')}`,
      { details: { problems } },
    );
  }
  const mainWork = kafka ? 'kafka' : pipeline?.watchInputs && hasInputs ? 'watch' : 'none';
  return deepFreeze<ServiceSettings>({
    kind,
    host: env.DFP_HOST || '0.0.0.0',
    port,
    apiToken: token === '' ? null : token,
    bodyLimitBytes,
    trainScheduleMs: scheduleS > 0 ? scheduleS * 1000 : null,
    trainInputRoots: (env.DFP_TRAIN_INPUT_ROOTS || `${join(process.cwd(), 'data')}:/workspace`)
      .split(':')
      .filter(Boolean)
      .map((r) => resolve(r)),
    mainWork,
    mlBackend: raw.mlBackend ?? 'auto',
    scoringEngine: raw.scoringEngine ?? 'auto',
    logLevel: raw.logLevel ?? 'INFO',
    pipeline: pipeline as PipelineConfig,
    kafka,
  });
}
