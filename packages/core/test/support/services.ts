/**
 * Real servers for integration tests. Where a Docker engine answers, testcontainers
 * starts them; elsewhere scripts/services.sh installs them once and runs them on
 * loopback. MLFLOW_TRACKING_URI, when set (as scripts/test.sh does), is used as is.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = resolve(__dirname, '../../../..');
const SERVICES = resolve(ROOT, 'scripts/services.sh');

function parseExports(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/**
 * `scripts/services.sh up <service>` with an optional private state directory, and extra
 * variables for the server it starts.
 */
export async function servicesUp(
  service: string,
  stateDir?: string,
  extraEnv: Record<string, string> = {},
): Promise<Record<string, string>> {
  const env = {
    ...process.env,
    ...(stateDir ? { DFP_SERVICES_DIR: stateDir } : {}),
    ...extraEnv,
  };
  const { stdout } = await run('bash', [SERVICES, 'up', service], {
    env,
    timeout: 15 * 60 * 1000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseExports(stdout);
}

export async function servicesDown(service: string, stateDir?: string): Promise<void> {
  const env = { ...process.env, ...(stateDir ? { DFP_SERVICES_DIR: stateDir } : {}) };
  await run('bash', [SERVICES, 'down', service], { env, timeout: 60_000 });
}

const MLFLOW_IMAGE = 'ghcr.io/mlflow/mlflow:v3.17.2';

/** True when a Docker engine answers (then testcontainers runs the servers). */
export async function dockerAvailable(): Promise<boolean> {
  try {
    await run('docker', ['info'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function mlflowContainer(): Promise<string> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(MLFLOW_IMAGE)
    .withExposedPorts(5000)
    .withCommand([
      'mlflow',
      'server',
      '--host=0.0.0.0',
      '--port=5000',
      '--backend-store-uri=sqlite:////tmp/mlflow.db',
      '--serve-artifacts',
      '--artifacts-destination=/tmp/artifacts',
    ])
    .withWaitStrategy(Wait.forHttp('/health', 5000))
    .withStartupTimeout(180_000)
    .start();
  // Ryuk, testcontainers' reaper, removes the container when the test process ends.
  return `http://${container.getHost()}:${container.getMappedPort(5000)}`;
}

/** The shared MLflow server of this test run. */
export async function mlflowUri(): Promise<string> {
  if (process.env.MLFLOW_TRACKING_URI) return process.env.MLFLOW_TRACKING_URI;
  const uri = (await dockerAvailable())
    ? await mlflowContainer()
    : (await servicesUp('mlflow')).MLFLOW_TRACKING_URI;
  if (!uri) throw new Error('scripts/services.sh up mlflow printed no MLFLOW_TRACKING_URI');
  process.env.MLFLOW_TRACKING_URI = uri;
  return uri;
}

/** A unique suffix, so tests sharing a long-lived registry never collide. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

const KAFKA_IMAGE = 'confluentinc/cp-kafka:7.9.0';

async function kafkaContainer(): Promise<string> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer(KAFKA_IMAGE).withKraft().start();
  return `${container.getHost()}:${container.getMappedPort(9093)}`;
}

/** The shared Kafka broker of this test run. */
export async function kafkaBootstrap(): Promise<string> {
  if (process.env.KAFKA_BOOTSTRAP_SERVERS) return process.env.KAFKA_BOOTSTRAP_SERVERS;
  const servers = (await dockerAvailable())
    ? await kafkaContainer()
    : (await servicesUp('kafka')).KAFKA_BOOTSTRAP_SERVERS;
  if (!servers) throw new Error('scripts/services.sh up kafka printed no KAFKA_BOOTSTRAP_SERVERS');
  process.env.KAFKA_BOOTSTRAP_SERVERS = servers;
  return servers;
}

export interface S3Env {
  AWS_ENDPOINT_URL: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
}

const MINIO_IMAGE = 'minio/minio:RELEASE.2025-04-22T22-12-26Z';

async function minioContainer(): Promise<S3Env> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(MINIO_IMAGE)
    .withExposedPorts(9000)
    .withEnvironment({ MINIO_ROOT_USER: 'dfp-test', MINIO_ROOT_PASSWORD: 'dfp-test-secret' })
    .withCommand(['server', '/data'])
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
    .start();
  return {
    AWS_ENDPOINT_URL: `http://${container.getHost()}:${container.getMappedPort(9000)}`,
    AWS_ACCESS_KEY_ID: 'dfp-test',
    AWS_SECRET_ACCESS_KEY: 'dfp-test-secret',
    AWS_REGION: 'us-east-1',
  };
}

/** The shared S3-compatible server of this test run; its settings are exported to the env. */
export async function s3Server(): Promise<S3Env> {
  const keys = ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'];
  if (keys.every((k) => process.env[k])) {
    return Object.fromEntries(keys.map((k) => [k, process.env[k]])) as unknown as S3Env;
  }
  const env = (await dockerAvailable())
    ? await minioContainer()
    : ((await servicesUp('s3')) as unknown as S3Env);
  if (!env.AWS_ENDPOINT_URL)
    throw new Error('scripts/services.sh up s3 printed no AWS_ENDPOINT_URL');
  Object.assign(process.env, env);
  return env;
}
