/**
 * SGD and Adam over plain tensors (PyTorch update rules, no weight decay).
 * Each step returns new parameter tensors and disposes the old ones and the
 * gradients, so the live tensor count stays flat over a whole training run.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerName } from './options';

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

export interface Optimizer {
  /** Applies one update; `params` and `grads` are disposed, the new params returned. */
  step(params: tf.Tensor[], grads: tf.Tensor[], learningRate: number): tf.Tensor[];
  dispose(): void;
}

function replace(old: tf.Tensor[], next: tf.Tensor[]): void {
  for (let i = 0; i < old.length; i++) if (old[i] !== next[i]) old[i].dispose();
}

function createSgd(): Optimizer {
  return {
    step(params, grads, learningRate) {
      const next = tf.tidy(() => params.map((p, i) => tf.sub(p, tf.mul(grads[i], learningRate))));
      tf.dispose(grads);
      replace(params, next);
      return next;
    },
    dispose() {},
  };
}

function createAdam(): Optimizer {
  let first: tf.Tensor[] | undefined;
  let second: tf.Tensor[] | undefined;
  let t = 0;
  return {
    step(params, grads, learningRate) {
      t += 1;
      const m0 = first ?? params.map((p) => tf.zerosLike(p));
      const v0 = second ?? params.map((p) => tf.zerosLike(p));
      const stepSize = learningRate / (1 - ADAM_BETA1 ** t);
      const correction2 = Math.sqrt(1 - ADAM_BETA2 ** t);
      const [next, m, v] = tf.tidy(() => {
        const m1 = grads.map((g, i) =>
          tf.add(tf.mul(m0[i], ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1)),
        );
        const v1 = grads.map((g, i) =>
          tf.add(tf.mul(v0[i], ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2)),
        );
        const p1 = params.map((p, i) => {
          const denominator = tf.add(tf.div(tf.sqrt(v1[i]), correction2), ADAM_EPSILON);
          return tf.sub(p, tf.mul(tf.div(m1[i], denominator), stepSize));
        });
        return [p1, m1, v1];
      });
      tf.dispose([...grads, ...m0, ...v0]);
      replace(params, next);
      first = m;
      second = v;
      return next;
    },
    dispose() {
      if (first) tf.dispose(first);
      if (second) tf.dispose(second);
      first = undefined;
      second = undefined;
    },
  };
}

export function createOptimizer(name: OptimizerName): Optimizer {
  return name === 'adam' ? createAdam() : createSgd();
}
