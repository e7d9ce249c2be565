import { createRequire } from 'node:module';
import { DfpError, ErrorCodes } from '../../src/errors';
import { BACKEND_ENV, activeBackend, initBackend } from '../../src/model';

function nativeAvailable(): boolean {
  try {
    createRequire(__filename)('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}

describe('model > backend', () => {
  const saved = process.env[BACKEND_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[BACKEND_ENV];
    else process.env[BACKEND_ENV] = saved;
  });

  it('loads wasm on request and is idempotent', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    expect(await initBackend('wasm')).toBe('wasm');
    expect(await initBackend('auto')).toBe('wasm');
    expect(activeBackend()).toBe('wasm');
  });

  it('lets DFP_ML_BACKEND choose when no backend is named', async () => {
    process.env[BACKEND_ENV] = 'cpu';
    expect(await initBackend()).toBe('cpu');
    process.env[BACKEND_ENV] = 'wasm';
    expect(await initBackend()).toBe('wasm');
    process.env[BACKEND_ENV] = 'gpu-please';
    await expect(initBackend()).rejects.toMatchObject({ code: ErrorCodes.CONFIG_INVALID });
  });

  it('fails an explicit tensorflow request that cannot load, saying what to install', async () => {
    if (nativeAvailable()) {
      expect(await initBackend('tensorflow')).toBe('tensorflow');
      return;
    }
    const err = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DfpError);
    expect((err as DfpError).code).toBe(ErrorCodes.MODEL_BACKEND_UNAVAILABLE);
    expect((err as DfpError).message).toMatch(/@tensorflow\/tfjs-node-gpu/);
    // The failed request leaves the working backend in place.
    expect(activeBackend()).toBe('wasm');
  });

  it('refuses to load a model before any backend is initialised', () => {
    jest.isolateModules(() => {
      // A fresh copy of the module: no backend chosen yet.
      const fresh = require('../../src/model') as typeof import('../../src/model');
      expect(() => fresh.deserializeModel({ metadata: {}, weights: new Uint8Array() })).toThrow(
        expect.objectContaining({ code: ErrorCodes.MODEL_BACKEND_UNAVAILABLE }),
      );
    });
  });
});
