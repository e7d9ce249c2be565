/**
 * Deployment files: docker-compose.yml resolves with Debian's docker-compose and
 * holds what users expect; the Dockerfiles run as non-root users and check the
 * GPU backend; the Helm chart passes `helm lint`, and `helm template` renders
 * the key fields (helm is built from the Go module proxy by scripts/tools.sh). The
 * Dockerfiles are linted with dockerfile-utils (hadolint is in none of the registries here).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { servicesDown, servicesUp } from '../../packages/core/test/support/services';

const ROOT = resolve(__dirname, '../..');
// yaml is a dependency of packages/core.
const YAML = require(require.resolve('yaml', { paths: [join(ROOT, 'packages/core')] })) as {
  parse(text: string): unknown;
  parseAllDocuments(text: string): { toJSON(): unknown }[];
};

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SEARCH = '/api/2.0/mlflow/registered-models/search';

/** The HTTP status of a GET sent with a given Host header (fetch does not let one set it). */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

function tool(name: string): string {
  return execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), name], {
    encoding: 'utf8',
    timeout: 15 * 60 * 1000,
  }).trim();
}

describe('deploy > docker compose', () => {
  it('resolves, and `up morpheus_pipeline` trains Duo on the sample data with a GPU', () => {
    const compose = tool('docker-compose');
    const text = execFileSync(compose, ['-f', 'docker-compose.yml', 'config'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, DFP_API_TOKEN: '', BIND_ADDRESS: '' },
    });
    const doc = YAML.parse(text) as Doc;
    const services = doc.services as Record<string, Doc>;
    expect(Object.keys(services).sort()).toEqual(
      [
        'inference',
        'jupyter',
        'kafka',
        'kafka-topics',
        'minio',
        'mlflow',
        'morpheus_pipeline',
        'morpheus_pipeline_cpu',
        'training',
      ].sort(),
    );
    const pipeline = services.morpheus_pipeline;
    expect(pipeline.profiles).toBeUndefined();
    const command = (pipeline.command as string[]).join(' ');
    expect(command).toMatch(/generate-sample-data\.mjs .*--sources duo/);
    expect(command).toMatch(/--source duo --train_users all/);
    expect(pipeline.environment.DFP_TRACKING_URI).toBe('http://mlflow:5000');
    expect(pipeline.depends_on.mlflow.condition).toBe('service_healthy');
    for (const name of ['morpheus_pipeline', 'training', 'inference']) {
      expect(services[name].deploy.resources.reservations.devices[0]).toMatchObject({
        driver: 'nvidia',
        capabilities: ['gpu'],
      });
    }
    for (const name of ['mlflow', 'kafka', 'minio', 'training', 'inference']) {
      expect(services[name].healthcheck.test.length).toBeGreaterThan(1);
    }
    expect(services.jupyter.profiles).toEqual(['dev']);
    expect(services.training.profiles).toEqual(['services']);
    expect(services.morpheus_pipeline_cpu.profiles).toEqual(['cpu']);
    expect(services.kafka.environment.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(services.kafka.environment.KAFKA_LOG_DIRS).toBe('/var/lib/kafka/data');
    expect(services.inference.depends_on['kafka-topics'].condition).toBe(
      'service_completed_successfully',
    );
    // Published on loopback only unless BIND_ADDRESS says otherwise.
    for (const service of Object.values(services)) {
      for (const port of (service.ports ?? []) as (string | Doc)[]) {
        const host = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
        expect(host).toBe('127.0.0.1');
      }
    }
    expect(Object.keys(doc.volumes)).toEqual(expect.arrayContaining(['mlflow-data', 'dfp-state']));
    // MLflow 3.5+ refuses Host headers it was not told about: the services' name is allowed.
    const allowed = String(services.mlflow.environment.MLFLOW_SERVER_ALLOWED_HOSTS).split(',');
    expect(allowed).toEqual(expect.arrayContaining(['mlflow', 'mlflow:*']));
    // SIGTERM drains work; Docker's default of 10 s before SIGKILL would cut it short.
    for (const name of ['morpheus_pipeline', 'training', 'inference']) {
      expect(services[name].stop_grace_period).toMatch(/^\d+m/);
    }
    const mounts = (services.training.volumes as (string | Doc)[]).map((v) =>
      typeof v === 'string' ? v.split(':')[1] : v.target,
    );
    expect(mounts).toContain('/workspace');
    expect(services.training.environment.TF_FORCE_GPU_ALLOW_GROWTH).toBe('true');
    // Every variable the file uses has a default or is listed in .env.sample.
    const sample = readFileSync(join(ROOT, '.env.sample'), 'utf8');
    const raw = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    for (const m of raw.matchAll(/\$\{([A-Z_]+)(:?-[^}]*)?\}/g)) {
      expect(m[2] !== undefined || sample.includes(`${m[1]}=`)).toBe(true);
    }
  }, 900_000);

  it("MLflow as configured for compose answers requests addressed to 'mlflow:5000'", async () => {
    const doc = YAML.parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Doc;
    const value = /:-([^}]*)\}/.exec(doc.services.mlflow.environment.MLFLOW_SERVER_ALLOWED_HOSTS);
    const image = readFileSync(join(ROOT, 'docker/mlflow.Dockerfile'), 'utf8');
    expect(image).toContain(`ENV MLFLOW_SERVER_ALLOWED_HOSTS="${value?.[1]}"`);
    const state = mkdtempSync(join(tmpdir(), 'dfp-mlflow-hosts-'));
    try {
      const { MLFLOW_TRACKING_URI: uri } = await servicesUp('mlflow', state, {
        MLFLOW_SERVER_ALLOWED_HOSTS: value?.[1] ?? '',
      });
      const status = (host: string) => statusWithHost(`${uri}${SEARCH}`, host);
      expect(await status('mlflow:5000')).toBe(200);
      expect(await status('elsewhere.example:5000')).toBe(403);
    } finally {
      await servicesDown('mlflow', state);
    }
  }, 900_000);

  it('images run as non-root users; the GPU image checks that its backend loads', () => {
    const app = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
    const stages = app.split(/^FROM /m).slice(1);
    const final = stages.filter((s) => /^\S+ AS (cpu|gpu|jupyter)\s*\n/.test(s));
    expect(final).toHaveLength(3);
    for (const stage of final) {
      const users = [...stage.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
      expect(users.length).toBeGreaterThan(0);
      expect(users[users.length - 1]).not.toBe('root');
    }
    expect(app).toMatch(/require\('@tensorflow\/tfjs-node-gpu'\)/);
    const mlflow = readFileSync(join(ROOT, 'docker/mlflow.Dockerfile'), 'utf8');
    expect(mlflow).toMatch(/^HEALTHCHECK /m);
    expect(mlflow).toMatch(/^USER mlflow$/m);
    expect(mlflow).toMatch(/--serve-artifacts/);
  });

  it('the Dockerfiles pass a Dockerfile linter (dockerfile-utils)', () => {
    const { validate } = require('dockerfile-utils') as {
      validate(text: string): { severity: number; message: string }[];
    };
    for (const file of ['docker/Dockerfile', 'docker/mlflow.Dockerfile']) {
      expect({ file, problems: validate(readFileSync(join(ROOT, file), 'utf8')) }).toEqual({
        file,
        problems: [],
      });
    }
    // The linter does see problems: a stage with no FROM and an unknown instruction.
    expect(validate('RUNN echo\n').length).toBeGreaterThan(0);
  });
});

describe('deploy > helm chart', () => {
  let helm: string;
  beforeAll(() => {
    helm = tool('helm');
  }, 900_000);

  const render = (...set: string[]): Doc[] =>
    YAML.parseAllDocuments(
      execFileSync(
        helm,
        ['template', 'rel', join(ROOT, 'helm/dfp'), ...set.flatMap((s) => ['--set', s])],
        { encoding: 'utf8' },
      ),
    )
      .map((d) => d.toJSON() as Doc)
      .filter(Boolean);

  it('passes helm lint', () => {
    const out = execFileSync(helm, ['lint', join(ROOT, 'helm/dfp')], { encoding: 'utf8' });
    expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders both services with probes, GPUs, limits, a restrictive context and an HPA', () => {
    const docs = render('kafka.bootstrapServers=kafka:9092', 'secrets.apiToken=0123456789abcdef');
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
    expect(kinds).toEqual([
      'Deployment/rel-dfp-inference',
      'Deployment/rel-dfp-training',
      'HorizontalPodAutoscaler/rel-dfp-inference',
      'Secret/rel-dfp-secrets',
      'Service/rel-dfp-inference',
      'Service/rel-dfp-training',
    ]);
    const deployment = (name: string) =>
      docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name) as Doc;
    for (const [name, port] of [
      ['rel-dfp-training', 8080],
      ['rel-dfp-inference', 8081],
    ] as const) {
      const pod = deployment(name).spec.template.spec;
      const c = pod.containers[0];
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
      expect(c.resources.limits.memory).toBeDefined();
      expect(c.ports[0].containerPort).toBe(port);
      const env = Object.fromEntries(
        (c.env as Doc[]).map((e) => [e.name, e.value ?? e.valueFrom.secretKeyRef]),
      );
      expect(env.DFP_BOOTSTRAP_SERVERS).toBe('kafka:9092');
      expect(env.DFP_API_TOKEN).toMatchObject({ name: 'rel-dfp-secrets', key: 'DFP_API_TOKEN' });
      expect(env.DFP_PORT).toBe(String(port));
      expect(c.volumeMounts.map((m: Doc) => m.mountPath).sort()).toEqual(['/tmp', '/var/lib/dfp']);
    }
    // The HPA owns the inference replica count.
    expect(deployment('rel-dfp-inference').spec.replicas).toBeUndefined();
    expect(deployment('rel-dfp-training').spec.replicas).toBe(1);
    const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler') as Doc;
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'rel-dfp-inference' },
      minReplicas: 2,
      maxReplicas: 10,
    });
  });

  it('uses an existing secret, and leaves Kafka out when no brokers are given', () => {
    const docs = render('existingSecret=dfp-credentials', 'inference.autoscaling.enabled=false');
    expect(docs.some((d) => d.kind === 'Secret')).toBe(false);
    expect(docs.some((d) => d.kind === 'HorizontalPodAutoscaler')).toBe(false);
    const inference = docs.find(
      (d) => d.kind === 'Deployment' && d.metadata.name === 'rel-dfp-inference',
    ) as Doc;
    expect(inference.spec.replicas).toBe(2);
    const env = inference.spec.template.spec.containers[0].env as Doc[];
    expect(env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY').valueFrom.secretKeyRef.name).toBe(
      'dfp-credentials',
    );
    expect(env.some((e) => e.name === 'DFP_BOOTSTRAP_SERVERS')).toBe(false);
    expect(env.find((e) => e.name === 'DFP_API_TOKEN').valueFrom.secretKeyRef.optional).toBe(false);
    // Optional secrets are read from it when present.
    expect(env.find((e) => e.name === 'MLFLOW_TRACKING_TOKEN').valueFrom.secretKeyRef).toEqual({
      name: 'dfp-credentials',
      key: 'MLFLOW_TRACKING_TOKEN',
      optional: true,
    });
  });

  it('passes SASL and TLS settings, with the password from the secret', () => {
    const docs = render(
      'kafka.bootstrapServers=kafka:9093',
      'kafka.tls=true',
      'kafka.sasl.mechanism=scram-sha-512',
      'kafka.sasl.username=dfp',
      'secrets.kafkaSaslPassword=s3cret-password',
    );
    const secret = docs.find((d) => d.kind === 'Secret') as Doc;
    expect(secret.stringData.DFP_KAFKA_SASL_PASSWORD).toBe('s3cret-password');
    for (const d of docs.filter((x) => x.kind === 'Deployment')) {
      const env = d.spec.template.spec.containers[0].env as Doc[];
      const value = (name: string) => env.find((e) => e.name === name);
      expect(value('DFP_KAFKA_SSL')?.value).toBe('true');
      expect(value('DFP_KAFKA_SASL_MECHANISM')?.value).toBe('scram-sha-512');
      expect(value('DFP_KAFKA_SASL_USERNAME')?.value).toBe('dfp');
      expect(value('DFP_KAFKA_SASL_PASSWORD')?.valueFrom.secretKeyRef.key).toBe(
        'DFP_KAFKA_SASL_PASSWORD',
      );
    }
  });

  it('keeps names within 63 characters and replaces the training pod on upgrade', () => {
    const release = 'a'.repeat(53);
    const docs = YAML.parseAllDocuments(
      execFileSync(helm, ['template', release, join(ROOT, 'helm/dfp')], { encoding: 'utf8' }),
    )
      .map((d) => d.toJSON() as Doc)
      .filter(Boolean);
    for (const d of docs) expect(d.metadata.name.length).toBeLessThanOrEqual(63);
    const training = docs.find(
      (d) => d.kind === 'Deployment' && d.metadata.name.endsWith('-training'),
    );
    expect(training?.spec.strategy.type).toBe('Recreate');
    expect(training?.spec.template.spec.terminationGracePeriodSeconds).toBe(1800);
  });
});
