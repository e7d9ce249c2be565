import type { SourceDefinition } from '../types';
import { azure } from './azure';
import { cloudtrail } from './cloudtrail';
import { duo } from './duo';

export { azure, cloudtrail, duo };
export { CLOUDTRAIL_IDENTITY_PRECEDENCE, UNKNOWN_IDENTITY } from './cloudtrail';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The sources that need no schema file, by name (frozen: copy before changing). */
export const builtinSources: Readonly<Record<string, SourceDefinition>> = deepFreeze({
  duo,
  azure,
  cloudtrail,
});

/** A built-in source by name (case-insensitive), or undefined. */
export function getBuiltinSource(name: string): SourceDefinition | undefined {
  const key = name.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(builtinSources, key)
    ? builtinSources[key]
    : undefined;
}
