/**
 * The node test environment with this process's typed array constructors.
 * Jest gives each test file its own realm, so a Float32Array made by a native
 * addon (onnxruntime-node) would fail the `instanceof Float32Array` checks of
 * code loaded in the test's realm. Sharing the constructors makes both agree.
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'ArrayBuffer',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArraysEnvironment;
