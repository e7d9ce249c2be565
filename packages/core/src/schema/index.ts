/** Schemas: the engine, the built-in sources and schema files. */
export * from './types';
export * from './engine';
export { builtinSources, getBuiltinSource, CLOUDTRAIL_IDENTITY_PRECEDENCE } from './builtin';
export { loadSourceDefinition, parseSourceDefinition } from './loader';
export { type SchemaProblem, checkSourceDefinition, validateSourceDefinition } from './validate';
