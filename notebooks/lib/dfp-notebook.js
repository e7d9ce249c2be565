/**
 * Helpers shared by the notebooks (plain CommonJS, so that the tslab kernel loads it
 * as is): where the data and models live, the pipeline configuration built exactly
 * as the `dfp` command builds it, and charts rendered to SVG with Vega-Lite.
 *
 * Settings come from the environment, so the same notebooks run quickly in CI:
 *   DFP_NOTEBOOK_DIR     data, cache and models (default: the repository's data/ and out/)
 *   DFP_NOTEBOOK_USERS   entities in generated sample data (default 25)
 *   DFP_NOTEBOOK_EPOCHS  training epochs (default: the source's, as Morpheus)
 *   DFP_TRACKING_URI     the model store (default: file: in DFP_NOTEBOOK_DIR; MLflow in compose)
 */
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '../..');
const core = (path) => require(join(ROOT, 'packages/core/dist', path));

function paths() {
  const base = process.env.DFP_NOTEBOOK_DIR ? resolve(process.env.DFP_NOTEBOOK_DIR) : null;
  return {
    data: base ? join(base, 'data') : join(ROOT, 'data'),
    cache: base ? join(base, 'cache') : join(ROOT, '.cache/dfp'),
    models: base ? join(base, 'models') : join(ROOT, 'out/models'),
    out: base ? join(base, 'out') : join(ROOT, 'out'),
  };
}

/** Generates the sample logs of a source unless they are there already. */
function ensureSampleData(source) {
  const { data } = paths();
  if (!existsSync(join(data, `${source}-training-data`))) {
    execFileSync(process.execPath, [
      join(ROOT, 'scripts/generate-sample-data.mjs'),
      '--out',
      data,
      '--sources',
      source,
      '--users',
      process.env.DFP_NOTEBOOK_USERS || '25',
    ]);
  }
  return data;
}

/** A pipeline configuration from `dfp` options, validated as the command line does. */
async function pipelineConfig(args) {
  const { buildProgram, cliOptions } = core('cli/main.js');
  const { buildConfig } = core('config/options.js');
  const { loadSourceDefinition } = core('schema/loader.js');
  const { cache } = paths();
  const epochs = process.env.DFP_NOTEBOOK_EPOCHS;
  const program = buildProgram().exitOverride();
  program.parse([
    'node',
    'dfp',
    `--cache_dir=${cache}`,
    `--tracking_uri=${trackingUri()}`,
    ...(epochs ? [`--epochs=${epochs}`] : []),
    ...args,
  ]);
  const raw = cliOptions(program);
  return buildConfig({ ...raw, progress: false }, await loadSourceDefinition(raw.source));
}

function trackingUri() {
  return process.env.DFP_TRACKING_URI || `file:${paths().models}`;
}

/** The model backend, the model store and a logger (warnings only). */
async function context() {
  const { initBackend } = core('model/index.js');
  const { openModelStore } = core('store/open.js');
  const { createLogger } = core('logging.js');
  const backend = await initBackend('auto');
  return {
    backend,
    ctx: { logger: createLogger({ level: 'WARNING' }), store: openModelStore(trackingUri()) },
  };
}

/** A Vega-Lite chart as SVG text. */
async function chart(spec) {
  const vega = require('vega');
  const vl = require('vega-lite');
  const view = new vega.View(vega.parse(vl.compile({ width: 560, height: 260, ...spec }).spec), {
    renderer: 'none',
  });
  return view.toSVG();
}

module.exports = { ROOT, core, paths, ensureSampleData, pipelineConfig, context, chart };
