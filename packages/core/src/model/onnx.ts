/**
 * Scoring with ONNX Runtime (`onnxruntime-node`, CPU): the trained network is
 * written as an ONNX graph (Gather embeddings, Gemm layers, the head) and run
 * by a session per model. Per-row losses are computed here from the head
 * outputs with the same formulas as `rowLosses`. ONNX Runtime fuses what tfjs
 * runs op by op: 6–15× tfjs-wasm's scoring speed (ml-runtime.md). Sessions run
 * on a worker thread of their own (onnx-sessions.ts). Training stays on tfjs.
 *
 * The engine is chosen once per process: `DFP_SCORING_ENGINE` (or
 * `setScoringEngine`) = `auto` (ONNX Runtime when it loads, else tfjs),
 * `onnx` (fail when it does not load) or `tfjs`.
 */
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { DfpError, ErrorCodes } from '../errors';
import type { EncodedRows } from './features';
import { type NetworkShape, featureCount, outputDim, paramSpecs } from './network';
import { type Feeds, type OrtSession, createSession, startSessionWorker } from './onnx-sessions';

export { sessionPlacement, sessionsOnWorker, stopSessionWorker } from './onnx-sessions';

/** BCE terms are capped like PyTorch's log clamp at −100 (as in `rowLosses`). */
const MAX_BCE = 100;
const LEAKY_RELU_SLOPE = 0.01;

export const SCORING_ENGINES = ['auto', 'onnx', 'tfjs'] as const;
export type ScoringEngineRequest = (typeof SCORING_ENGINES)[number];
export const SCORING_ENGINE_ENV = 'DFP_SCORING_ENGINE';

/* ------------------------------------------------------------------------ */
/* The ONNX protobuf messages this writer needs (field numbers of onnx.proto). */

const ONNX_TYPES = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: {
          fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } },
        },
        TypeProto: { fields: { tensorType: { type: 'TensorTypeProto', id: 1 } } },
        TensorTypeProto: {
          fields: {
            elemType: { type: 'int32', id: 1 },
            shape: { type: 'TensorShapeProto', id: 2 },
          },
        },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: {
          fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
        },
      },
    },
  },
};

const IR_VERSION = 8;
const OPSET = 17;
const FLOAT = 1;
const INT32 = 6;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;

let modelType: protobuf.Type | undefined;
function modelProto(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_TYPES).lookupType('onnx.ModelProto');
  return modelType;
}

interface Attribute {
  name: string;
  f?: number;
  i?: number;
  type: number;
}

function node(opType: string, input: string[], output: string, attribute: Attribute[] = []) {
  return { opType, input, output: [output], name: output, attribute };
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function activationNode(activation: NetworkShape['activation'], input: string, output: string) {
  switch (activation) {
    case 'relu':
      return node('Relu', [input], output);
    case 'leaky_relu':
      return node('LeakyRelu', [input], output, [
        { name: 'alpha', f: LEAKY_RELU_SLOPE, type: ATTR_FLOAT },
      ]);
    case 'tanh':
      return node('Tanh', [input], output);
    case 'sigmoid':
      return node('Sigmoid', [input], output);
    case 'selu':
      // ONNX's defaults are the standard SELU constants, as in tfjs.
      return node('Selu', [input], output);
    case 'elu':
      return node('Elu', [input], output, [{ name: 'alpha', f: 1, type: ATTR_FLOAT }]);
  }
}

/**
 * The network as an ONNX model. Inputs: `dense` [n, numeric + binary] (when
 * there are such features) and `codes_<i>` [n] (int32) per categorical
 * feature; output: `head` [n, outputDim]. `weights` in `paramSpecs` order.
 */
export function onnxModelBytes(
  net: NetworkShape,
  categoricalNames: string[],
  weights: Float32Array[],
): Uint8Array {
  const specs = paramSpecs(net, categoricalNames);
  if (weights.length !== specs.length) {
    throw new DfpError(
      ErrorCodes.MODEL_INVALID,
      `ONNX export needs ${specs.length} weight tensors, got ${weights.length}`,
    );
  }
  const initializer = specs.map((spec, i) => ({
    name: `p${i}`,
    dims: spec.shape,
    dataType: FLOAT,
    rawData: littleEndianBytes(weights[i]),
  }));
  const nCat = net.embeddings.length;
  const inputs = [];
  const nodes = [];
  const parts: string[] = [];
  const denseWidth = net.numeric + net.binary;
  if (denseWidth > 0) {
    inputs.push(valueInfo('dense', FLOAT, ['n', denseWidth]));
    parts.push('dense');
  }
  for (let i = 0; i < nCat; i++) {
    inputs.push(valueInfo(`codes_${i}`, INT32, ['n']));
    nodes.push(node('Gather', [`p${i}`, `codes_${i}`], `embedded_${i}`));
    parts.push(`embedded_${i}`);
  }
  let h = parts[0];
  if (parts.length > 1) {
    nodes.push(node('Concat', parts, 'joined', [{ name: 'axis', i: 1, type: ATTR_INT }]));
    h = 'joined';
  }
  const layers = net.encoderLayers.length + net.decoderLayers.length;
  for (let l = 0; l <= layers; l++) {
    const kernel = `p${nCat + 2 * l}`;
    const bias = `p${nCat + 2 * l + 1}`;
    const last = l === layers;
    const z = last ? 'head' : `z_${l}`;
    nodes.push(node('Gemm', [h, kernel, bias], z));
    if (!last) {
      nodes.push(activationNode(net.activation, z, `h_${l}`));
      h = `h_${l}`;
    }
  }
  const type = modelProto();
  const message = type.fromObject({
    irVersion: IR_VERSION,
    producerName: 'dfp-ts',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'dfp_autoencoder',
      node: nodes,
      initializer,
      input: inputs,
      output: [valueInfo('head', FLOAT, ['n', outputDim(net)])],
    },
  });
  return type.encode(message).finish();
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** ONNX raw data is little-endian. */
function littleEndianBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/* ------------------------------------------------------------------------ */
/* The runtime. */

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null | undefined;
let ortError: string | undefined;
let engineRequest: ScoringEngineRequest | undefined;

function requestFromEnv(): ScoringEngineRequest {
  const raw = process.env[SCORING_ENGINE_ENV]?.trim().toLowerCase();
  if (!raw) return 'auto';
  return checkEngine(raw, SCORING_ENGINE_ENV);
}

function checkEngine(value: string, where: string): ScoringEngineRequest {
  if (!(SCORING_ENGINES as readonly string[]).includes(value)) {
    throw new DfpError(
      ErrorCodes.CONFIG_INVALID,
      `${where} is ${JSON.stringify(value)}; expected one of ${SCORING_ENGINES.join(', ')}`,
      { details: { value } },
    );
  }
  return value as ScoringEngineRequest;
}

function loadOrt(): Ort | null {
  if (ort !== undefined) return ort;
  try {
    ort = createRequire(__filename)('onnxruntime-node') as Ort;
  } catch (err) {
    ortError = err instanceof Error ? err.message.split('\n')[0] : String(err);
    ort = null;
  }
  return ort;
}

/** Chooses the scoring engine for this process (else `DFP_SCORING_ENGINE`, else auto). */
export function setScoringEngine(request: string | undefined): void {
  engineRequest =
    request === undefined
      ? undefined
      : checkEngine(request.trim().toLowerCase(), '--scoring_engine (DFP_SCORING_ENGINE)');
}

/**
 * The engine models score with: `onnx` or `tfjs`. An explicit `onnx` that
 * cannot load throws MODEL_BACKEND_UNAVAILABLE instead of falling back.
 */
export function scoringEngine(): 'onnx' | 'tfjs' {
  const request = engineRequest ?? requestFromEnv();
  if (request === 'tfjs') return 'tfjs';
  if (loadOrt()) return 'onnx';
  if (request === 'onnx') {
    throw new DfpError(
      ErrorCodes.MODEL_BACKEND_UNAVAILABLE,
      `scoring engine onnx cannot be loaded (${ortError}); reinstall onnxruntime-node, ` +
        `or set ${SCORING_ENGINE_ENV}=tfjs`,
    );
  }
  return 'tfjs';
}

/** Gets the scoring engine ready before the first model is needed (where it is ONNX Runtime). */
export function prepareScoring(): void {
  try {
    if (scoringEngine() === 'onnx') startSessionWorker();
  } catch {
    // An engine that cannot load says so when a model first scores, with the reason.
  }
}

/** An ONNX Runtime session over one model's network (on the session worker when there is one). */
export class OnnxRunner {
  private constructor(
    private readonly net: NetworkShape,
    private readonly session: OrtSession,
  ) {}

  static async create(
    net: NetworkShape,
    categoricalNames: string[],
    weights: Float32Array[],
  ): Promise<OnnxRunner> {
    const runtime = loadOrt();
    if (!runtime) {
      throw new DfpError(
        ErrorCodes.MODEL_BACKEND_UNAVAILABLE,
        `onnxruntime-node cannot be loaded (${ortError})`,
      );
    }
    const bytes = onnxModelBytes(net, categoricalNames, weights);
    return new OnnxRunner(net, await createSession(runtime, bytes));
  }

  /** Head outputs [rows × outputDim] and per-row losses [rows × features], row-major. */
  async evaluate(data: EncodedRows): Promise<{ losses: Float32Array; outputs: Float32Array }> {
    const { net } = this;
    const rows = data.rows;
    const feeds: Feeds = {};
    const nNum = net.numeric;
    const nBin = net.binary;
    const nCat = net.embeddings.length;
    if (nNum + nBin > 0) {
      const width = nNum + nBin;
      const dense = new Float32Array(rows * width);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < nNum; c++) dense[r * width + c] = data.numeric[r * nNum + c];
        for (let c = 0; c < nBin; c++) dense[r * width + nNum + c] = data.binary[r * nBin + c];
      }
      feeds.dense = { type: 'float32', data: dense, dims: [rows, width] };
    }
    for (let i = 0; i < nCat; i++) {
      const codes = new Int32Array(rows);
      for (let r = 0; r < rows; r++) codes[r] = data.categorical[r * nCat + i];
      feeds[`codes_${i}`] = { type: 'int32', data: codes, dims: [rows] };
    }
    const outputs = await this.session.run(feeds);
    return { losses: headLosses(net, data, outputs), outputs };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Per-row, per-feature losses from head outputs, as `rowLosses` computes them. */
export function headLosses(net: NetworkShape, data: EncodedRows, head: Float32Array): Float32Array {
  const rows = data.rows;
  const width = outputDim(net);
  const nFeatures = featureCount(net);
  const nNum = net.numeric;
  const nBin = net.binary;
  const nCat = net.embeddings.length;
  const losses = new Float32Array(rows * nFeatures);
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    let f = r * nFeatures;
    for (let c = 0; c < nNum; c++) {
      const d = head[at + c] - data.numeric[r * nNum + c];
      losses[f++] = d * d;
    }
    for (let c = 0; c < nBin; c++) {
      const z = head[at + nNum + c];
      const t = data.binary[r * nBin + c];
      const bce = Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
      losses[f++] = Math.min(bce, MAX_BCE);
    }
    let offset = at + nNum + nBin;
    for (let i = 0; i < nCat; i++) {
      const vocab = net.embeddings[i].vocab;
      let max = -Infinity;
      for (let k = 0; k < vocab; k++) if (head[offset + k] > max) max = head[offset + k];
      let sum = 0;
      for (let k = 0; k < vocab; k++) sum += Math.exp(head[offset + k] - max);
      const target = head[offset + data.categorical[r * nCat + i]];
      losses[f++] = max + Math.log(sum) - target;
      offset += vocab;
    }
  }
  return losses;
}
