/** Options that decide how rows are scored: the z cap and the scoring engine. */
import { buildProgram, cliOptions } from '../../src/cli/main';
import { type RawOptions, buildConfig } from '../../src/config/options';
import { DfpError } from '../../src/errors';
import { sessionsOnWorker } from '../../src/model';
import { getBuiltinSource } from '../../src/schema/builtin';

const duo = getBuiltinSource('duo');

function parse(
  args: string[],
  env: Record<string, string> = {},
): RawOptions & {
  scoringEngine: string;
} {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const program = buildProgram().exitOverride();
    program.parse(['node', 'dfp', '-f', 'x.json', ...args]);
    return cliOptions(program) as unknown as RawOptions & { scoringEngine: string };
  } finally {
    process.env = saved;
  }
}

describe('config > scoring options', () => {
  it('caps each feature at 5 in mean_abs_z by default; none restores Morpheus', () => {
    expect(buildConfig(parse([]), duo).zCap).toBe(5);
    expect(buildConfig(parse(['--z_cap', '3.5']), duo).zCap).toBe(3.5);
    expect(buildConfig(parse(['--z_cap', 'none']), duo).zCap).toBe(Infinity);
    expect(buildConfig(parse([], { DFP_Z_CAP: '8' }), duo).zCap).toBe(8);
  });

  it('DFP_ONNX_WORKER: 0 or false keeps sessions on the main thread; others are refused', () => {
    const saved = process.env.DFP_ONNX_WORKER;
    try {
      for (const off of ['0', 'false', 'FALSE']) {
        process.env.DFP_ONNX_WORKER = off;
        expect(sessionsOnWorker()).toBe(false);
      }
      process.env.DFP_ONNX_WORKER = 'banana';
      expect(() => sessionsOnWorker()).toThrow(/DFP_ONNX_WORKER is "banana"; expected 1 or true/);
    } finally {
      if (saved === undefined) delete process.env.DFP_ONNX_WORKER;
      else process.env.DFP_ONNX_WORKER = saved;
    }
  });

  it('names a threshold that is not a number as such', () => {
    expect(() => buildConfig(parse(['--filter_threshold', 'abc']), duo)).toThrow(
      '--filter_threshold "abc": is not a number; it must be ≥ 0',
    );
  });

  it('refuses a cap that is not a positive number', () => {
    for (const bad of ['0', '-1', 'big']) {
      expect(() => buildConfig(parse(['--z_cap', bad]), duo)).toThrow(DfpError);
      expect(() => buildConfig(parse(['--z_cap', bad]), duo)).toThrow(/z_cap/);
    }
  });

  it('reads the scoring engine from --scoring_engine or DFP_SCORING_ENGINE', () => {
    expect(parse([]).scoringEngine).toBe('auto');
    expect(parse(['--scoring_engine', 'tfjs']).scoringEngine).toBe('tfjs');
    expect(parse([], { DFP_SCORING_ENGINE: 'onnx' }).scoringEngine).toBe('onnx');
  });

  it('takes Adam and the held-out calibration as model options', () => {
    const config = buildConfig(parse(['--optimizer', 'sgd', '--calibration', 'held_out']), duo);
    expect(config.model).toMatchObject({ optimizer: 'sgd', calibration: 'held_out' });
    expect(() => buildConfig(parse(['--calibration', 'test']), duo)).toThrow(/calibration/);
  });
});
