/**
 * The embedded model store: a directory, one folder per registered model and
 * one per version. A version becomes visible only when complete: it is written
 * to a temporary folder and renamed into place, so a reader never loads a half
 * written model, and two writers never share a version number.
 *
 *   <root>/models/<name>/versions/<n>/{version.json, model.json, weights.bin}
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DfpError, ErrorCodes } from '../errors';
import { METADATA_FILE, MLMODEL_FILE, WEIGHTS_FILE, packModel, unpackModel } from './model-format';
import type { ModelArtifact, ModelStore, ModelVersionInfo, VersionTags } from './types';

const NAME_OK = /^[A-Za-z0-9_.-]+$/;

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export class LocalModelStore implements ModelStore {
  readonly uri: string;
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.uri = `file:${this.root}`;
  }

  private modelDir(name: string): string {
    if (!NAME_OK.test(name)) {
      throw new DfpError(
        ErrorCodes.STORE_UNSUPPORTED,
        `invalid model name ${JSON.stringify(name)}`,
      );
    }
    return join(this.root, 'models', name);
  }

  async register(
    name: string,
    artifact: ModelArtifact,
    tags: VersionTags,
  ): Promise<ModelVersionInfo> {
    const versionsDir = join(this.modelDir(name), 'versions');
    await mkdir(versionsDir, { recursive: true });
    const staging = join(
      this.root,
      'staging',
      `${name}-${process.pid}-${Date.now()}-${Math.random()}`,
    );
    await mkdir(staging, { recursive: true });
    try {
      const files = packModel(artifact);
      await writeFile(join(staging, MLMODEL_FILE), files[MLMODEL_FILE]);
      await writeFile(join(staging, METADATA_FILE), files[METADATA_FILE]);
      await writeFile(join(staging, WEIGHTS_FILE), files[WEIGHTS_FILE]);
      // Claim the next free number; a concurrent writer that took it makes rename fail.
      for (let attempt = 0; attempt < 100; attempt++) {
        const version = (await this.maxVersion(name)) + 1;
        const info: ModelVersionInfo = {
          name,
          version,
          status: 'READY',
          tags,
          createdAt: Date.now(),
        };
        await writeFile(join(staging, 'version.json'), JSON.stringify(info, null, 2));
        try {
          await rename(staging, join(versionsDir, String(version)));
          return info;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        }
      }
      throw new DfpError(
        ErrorCodes.STORE_UNREADABLE,
        `could not claim a version number for ${name}`,
      );
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async versionNumbers(name: string): Promise<number[]> {
    try {
      const entries = await readdir(join(this.modelDir(name), 'versions'));
      return entries
        .filter((e) => /^\d+$/.test(e))
        .map(Number)
        .sort((a, b) => a - b);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  private async maxVersion(name: string): Promise<number> {
    const numbers = await this.versionNumbers(name);
    return numbers.length === 0 ? 0 : numbers[numbers.length - 1];
  }

  private async readInfo(name: string, version: number): Promise<ModelVersionInfo> {
    const path = join(this.modelDir(name), 'versions', String(version), 'version.json');
    try {
      return JSON.parse(await readFile(path, 'utf8')) as ModelVersionInfo;
    } catch (err) {
      throw new DfpError(
        ErrorCodes.STORE_UNREADABLE,
        `cannot read ${path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async versions(name: string): Promise<ModelVersionInfo[]> {
    const numbers = await this.versionNumbers(name);
    return Promise.all(numbers.map((n) => this.readInfo(name, n)));
  }

  async latest(name: string): Promise<ModelVersionInfo | null> {
    const numbers = await this.versionNumbers(name);
    for (let i = numbers.length - 1; i >= 0; i--) {
      const info = await this.readInfo(name, numbers[i]);
      if (info.status === 'READY') return info;
    }
    return null;
  }

  async load(name: string, version: number): Promise<ModelArtifact> {
    const dir = join(this.modelDir(name), 'versions', String(version));
    try {
      const [mlmodel, metadata, weights] = await Promise.all([
        readFile(join(dir, MLMODEL_FILE), 'utf8'),
        readFile(join(dir, METADATA_FILE), 'utf8'),
        readFile(join(dir, WEIGHTS_FILE)),
      ]);
      return unpackModel(
        { mlmodel, metadata, weights: new Uint8Array(weights) },
        `${name}:${version}`,
      );
    } catch (err) {
      if (err instanceof DfpError) throw err;
      if (isNotFound(err)) {
        throw new DfpError(
          ErrorCodes.STORE_NOT_FOUND,
          `model ${name} version ${version} not found in ${this.uri}`,
        );
      }
      throw new DfpError(
        ErrorCodes.STORE_UNREADABLE,
        `cannot load ${name}:${version} from ${dir}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(join(this.root, 'models'))).sort();
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }
}
