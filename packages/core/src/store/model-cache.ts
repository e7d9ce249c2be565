/**
 * Finds and keeps the model that scores each entity: the entity's own newest
 * READY version, else the generic model. Loaded models are kept in an LRU
 * cache; a model evicted from it is disposed. Version lookups are refreshed
 * after `refreshMs`, so a long-running scorer picks up retrained models, and
 * the registry's list of model names is refreshed in the background on the
 * same period, so entities without a model of their own cost no lookup.
 *
 * When the store is slow or down, cached models keep scoring (a failed refresh
 * is retried after `retryMs`); only an entity with no usable model at all is
 * reported, and the caller dead-letters its rows.
 */
import { GENERIC_ENTITY_NAME, modelName } from '../entities/names';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import { type Autoencoder, deserializeModel } from '../model';
import type { ModelStore, ModelVersionInfo } from './types';

export interface ResolvedModel {
  model: Autoencoder;
  /** `<registered name>:<version>`. */
  version: string;
  /** Why the entity's own model was not used, when the generic one was. */
  fallbackReason: string | null;
}

export type Resolution = { ok: true; resolved: ResolvedModel } | { ok: false; reason: string };

interface CacheEntry {
  info: ModelVersionInfo;
  model: Autoencoder;
  checkedAt: number;
}

export interface ModelResolverOptions {
  maxModels?: number;
  refreshMs?: number;
  /** Wait before retrying a failed refresh while a cached model keeps serving. Default 30 s. */
  retryMs?: number;
  logger?: Logger;
  now?: () => number;
}

export class ModelResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly missing = new Map<string, number>();
  private listing: { names: Set<string>; at: number } | null = null;
  private listingInFlight: Promise<void> | null = null;
  /** After a store failure, no store call before this time (a simple circuit breaker). */
  private storeDownUntil = -Infinity;
  private readonly maxModels: number;
  private readonly refreshMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;

  hits = 0;
  misses = 0;

  constructor(
    private readonly store: ModelStore,
    private readonly source: string,
    private readonly options: ModelResolverOptions = {},
  ) {
    this.maxModels = options.maxModels ?? 100;
    this.refreshMs = options.refreshMs ?? 10 * 60 * 1000;
    this.retryMs = options.retryMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** The model for an entity, or why there is none. */
  async resolve(entity: string): Promise<Resolution> {
    const own = modelName(this.source, entity);
    let fallbackReason: string;
    try {
      const entry = await this.get(own);
      if (entry) return { ok: true, resolved: this.resolved(entry, null) };
      fallbackReason = `no model ${own}`;
    } catch (err) {
      fallbackReason = `load_failed:${own}: ${errorMessage(err)}`;
      this.options.logger?.warn(
        { entity, model: own, err: errorMessage(err) },
        'model load failed',
      );
    }
    const generic = modelName(this.source, null);
    try {
      const entry = await this.get(generic);
      if (entry) return { ok: true, resolved: this.resolved(entry, fallbackReason) };
      return {
        ok: false,
        reason: `no model for entity ${entity} and no fallback ${GENERIC_ENTITY_NAME} (${generic})`,
      };
    } catch (err) {
      return {
        ok: false,
        reason: `${fallbackReason}; load_failed:${generic}: ${errorMessage(err)}`,
      };
    }
  }

  private resolved(entry: CacheEntry, fallbackReason: string | null): ResolvedModel {
    return {
      model: entry.model,
      version: `${entry.info.name}:${entry.info.version}`,
      fallbackReason,
    };
  }

  /** Names in the registry, or null while unknown (then every name is looked up). */
  private async knownNames(): Promise<Set<string> | null> {
    if (!this.listing || this.now() - this.listing.at >= this.refreshMs) {
      const refresh = this.refreshListing();
      // The first listing is awaited; later ones refresh in the background.
      if (!this.listing) await refresh;
    }
    return this.listing?.names ?? null;
  }

  private refreshListing(): Promise<void> {
    this.listingInFlight ??= this.store
      .list()
      .then((names) => {
        this.listing = { names: new Set(names), at: this.now() };
      })
      .catch((err: unknown) => {
        this.options.logger?.warn({ err: errorMessage(err) }, 'model registry listing failed');
        if (this.listing) this.listing.at = this.now() - this.refreshMs + this.retryMs;
      })
      .finally(() => {
        this.listingInFlight = null;
      });
    return this.listingInFlight;
  }

  private async get(name: string): Promise<CacheEntry | null> {
    const now = this.now();
    const cached = this.cache.get(name);
    if (cached && now - cached.checkedAt < this.refreshMs) {
      this.hits += 1;
      this.touch(name, cached);
      return cached;
    }
    const missingAt = this.missing.get(name);
    if (!cached && missingAt !== undefined && now - missingAt < this.refreshMs) return null;
    const names = cached ? null : await this.knownNames();
    if (names && !names.has(name)) return null;

    if (now < this.storeDownUntil) {
      if (cached) return cached;
      throw new Error(
        `model store ${this.store.uri} unavailable; ` +
          `next try in ${Math.ceil((this.storeDownUntil - now) / 1000)} s`,
      );
    }
    this.misses += 1;
    let info: ModelVersionInfo | null;
    try {
      info = await this.store.latest(name);
    } catch (err) {
      this.storeDownUntil = now + this.retryMs;
      if (!cached) throw err;
      // The store is unreachable: keep scoring with what we have, and try again later.
      this.options.logger?.warn(
        { model: name, version: cached.info.version, err: errorMessage(err) },
        'model refresh failed; using the cached version',
      );
      cached.checkedAt = now - this.refreshMs + this.retryMs;
      this.touch(name, cached);
      return cached;
    }
    if (!info) {
      this.missing.set(name, now);
      if (cached) this.drop(name, cached);
      return null;
    }
    this.missing.delete(name);
    if (cached && cached.info.version === info.version) {
      cached.checkedAt = now;
      this.touch(name, cached);
      return cached;
    }
    let artifact;
    try {
      artifact = await this.store.load(name, info.version);
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable) this.storeDownUntil = now + this.retryMs;
      throw err;
    }
    const model = deserializeModel(artifact);
    if (cached) this.drop(name, cached);
    const entry = { info, model, checkedAt: now };
    this.cache.set(name, entry);
    this.evict();
    return entry;
  }

  private touch(name: string, entry: CacheEntry): void {
    this.cache.delete(name);
    this.cache.set(name, entry);
  }

  private drop(name: string, entry: CacheEntry): void {
    this.cache.delete(name);
    entry.model.dispose();
  }

  private evict(): void {
    while (this.cache.size > this.maxModels) {
      const [oldest, entry] = this.cache.entries().next().value as [string, CacheEntry];
      this.cache.delete(oldest);
      entry.model.dispose();
    }
  }

  /** Disposes every cached model. */
  close(): void {
    for (const entry of this.cache.values()) entry.model.dispose();
    this.cache.clear();
  }
}
