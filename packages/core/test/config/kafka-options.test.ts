import { buildProgram, cliOptions } from '../../src/cli/main';
import { type RawOptions, buildConfig, buildKafkaOptions } from '../../src/config/options';
import { DfpError } from '../../src/errors';
import { getBuiltinSource } from '../../src/schema/builtin';

const duo = getBuiltinSource('duo');

function parse(args: string[], env: Record<string, string> = {}): RawOptions {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const program = buildProgram().exitOverride();
    program.parse(['node', 'dfp', ...args]);
    return cliOptions(program) as unknown as RawOptions;
  } finally {
    process.env = saved;
  }
}

describe('config > kafka options', () => {
  it('builds the stream settings from options and DFP_* variables', () => {
    const raw = parse(['--train_users=none', '--input_topic=duo-a', '--kafka_batch_records=50'], {
      DFP_BOOTSTRAP_SERVERS: 'k1:9092, k2:9092',
      DFP_INPUT_TOPIC: 'duo-b;duo-c',
    });
    buildConfig(raw, duo);
    const kafka = buildKafkaOptions(raw, duo);
    expect(kafka).toMatchObject({
      brokers: ['k1:9092', 'k2:9092'],
      inputTopics: ['duo-a'],
      outputTopic: 'dfp-detections-duo',
      deadLetterTopic: 'dfp-detections-duo-dead-letters',
      groupId: 'dfp-inference',
      offsetReset: 'earliest',
      maxBatchRecords: 50,
      maxBatchWaitMs: 500,
      sessionTimeoutMs: 30000,
      ssl: false,
    });
    expect(kafka?.stateDir).toMatch(/\.cache[/\\]dfp[/\\]state$/);
    // The variable gives the topics when the command line does not.
    const fromEnv = parse(['--train_users=none'], {
      DFP_BOOTSTRAP_SERVERS: 'k1:9092',
      DFP_INPUT_TOPIC: 'duo-b;duo-c',
    });
    expect(buildKafkaOptions(fromEnv, duo)?.inputTopics).toEqual(['duo-b', 'duo-c']);
  });

  it('reads on/off options from their variables as true or false, never as "set"', () => {
    const at = ['--input_topic=duo', '--bootstrap_servers=k:9092'];
    const ssl = (env: Record<string, string>, args: string[] = []) =>
      buildKafkaOptions(parse([...at, ...args], env), duo)?.ssl;
    expect(ssl({ DFP_KAFKA_SSL: 'false' })).toBe(false);
    expect(ssl({ DFP_KAFKA_SSL: '0' })).toBe(false);
    expect(ssl({ DFP_KAFKA_SSL: 'TRUE' })).toBe(true);
    expect(ssl({}, ['--kafka_ssl'])).toBe(true);
    expect(ssl({ DFP_KAFKA_SSL: 'true' }, ['--kafka_ssl', 'false'])).toBe(false);
    expect(parse(['-f', 'x'], { DFP_WATCH_INPUTS: 'false' }).watchInputs).toBe(false);
    expect(parse(['-f', 'x', '--watch_inputs']).watchInputs).toBe(true);
    expect(parse(['-f', 'x'], { DFP_NO_CACHE: 'no' }).noCache).toBe(false);
    expect(() => parse(['-f', 'x'], { DFP_WATCH_INPUTS: 'maybe' })).toThrow(
      /DFP_WATCH_INPUTS.*expected true or false/,
    );
  });

  it('gives training its own consumer group, so both sides see every record', () => {
    const raw = parse(['--input_topic=duo', '--bootstrap_servers=k:9092']);
    expect(buildConfig(raw, duo).trainUsers).toBe('all');
    expect(buildKafkaOptions(raw, duo)?.groupId).toBe('dfp-training');
    const named = parse(['--input_topic=duo', '--bootstrap_servers=k:9092', '--group_id=mine']);
    expect(buildKafkaOptions(named, duo)?.groupId).toBe('mine');
  });

  it('refuses settings that cannot work, naming the option', () => {
    const cases: [string[], RegExp][] = [
      [['--input_topic=duo'], /--input_topic.*needs --bootstrap_servers/],
      [
        ['--input_topic=duo', '--bootstrap_servers=k:1', '--kafka_offset_reset=middle'],
        /--kafka_offset_reset "middle": must be earliest or latest/,
      ],
      [
        ['--input_topic=duo', '--bootstrap_servers=k:1', '--kafka_sasl_mechanism=gssapi'],
        /--kafka_sasl_mechanism "gssapi"/,
      ],
      [
        ['--input_topic=duo', '--bootstrap_servers=k:1', '--kafka_batch_records=0'],
        /--kafka_batch_records "0": must be an integer ≥ 1/,
      ],
      [
        ['--input_topic=duo', '--bootstrap_servers=k:1', '--kafka_session_timeout_ms=10'],
        /--kafka_session_timeout_ms "10"/,
      ],
      [['--input_topic=duo', '--bootstrap_servers=127.0.0.1'], /127\.0\.0\.1 needs a port/],
      [['--input_topic=', '--bootstrap_servers=k:1'], /no input|topic names/],
      [
        ['--input_topic=duo', '--bootstrap_servers=k:1', '--kafka_sasl_mechanism=plain'],
        /needs --kafka_sasl_username/,
      ],
    ];
    for (const [args, message] of cases) {
      const raw = parse(args);
      expect(() => {
        buildConfig(raw, duo);
        buildKafkaOptions(raw, duo);
      }).toThrow(message);
    }
    const both = parse(['--input_topic=duo', '-f', 'x.json']);
    expect(() => buildConfig(both, duo)).toThrow(DfpError);
    expect(() => buildConfig(both, duo)).toThrow(/cannot be combined with -f\/--input_file/);
    expect(() => buildConfig(parse([]), duo)).toThrow(/--input_file .* or --input_topic/);
  });

  it('passes SASL and TLS settings through', () => {
    const raw = parse(
      [
        '--input_topic=duo',
        '--bootstrap_servers=k:9093',
        '--kafka_ssl',
        '--kafka_sasl_mechanism=SCRAM-SHA-512',
        '--kafka_sasl_username=dfp',
      ],
      { DFP_KAFKA_SASL_PASSWORD: 's3cret' },
    );
    expect(buildKafkaOptions(raw, duo)).toMatchObject({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'dfp', password: 's3cret' },
    });
  });
});

describe('config > variables', () => {
  it('every option is read from DFP_ and its own name, digits included', () => {
    const options = buildProgram().options.filter((o) => o.long);
    expect(options.length).toBeGreaterThan(40);
    for (const o of options) {
      expect([o.long, o.envVar]).toEqual([o.long, `DFP_${o.attributeName().toUpperCase()}`]);
    }
    const raw = parse(['-f', 'x.json'], {
      DFP_S3_ENDPOINT: 'http://minio:9000',
      DFP_S3_REGION: 'eu-north-1',
      DFP_S3_PATH_STYLE: 'true',
    });
    expect(buildConfig(raw, duo).s3).toEqual({
      endpoint: 'http://minio:9000',
      region: 'eu-north-1',
      forcePathStyle: true,
    });
  });
});

describe('config > s3 options', () => {
  it('puts rejects and dead letters beside an S3 output, and reads the endpoint', () => {
    const raw = parse(['-f', 's3://logs/duo/*.json', '--output', 's3://alerts/dfp/']);
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9000';
    let config;
    try {
      config = buildConfig(raw, duo);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
    expect(config).toMatchObject({
      inputs: ['s3://logs/duo/*.json'],
      output: 's3://alerts/dfp/',
      rejectsFile: 's3://alerts/dfp/_rejects/',
      deadLetterFile: 's3://alerts/dfp/_dead_letters/',
      s3: { endpoint: 'http://127.0.0.1:9000' },
    });
    const explicit = parse([
      '-f',
      'x.json',
      '--s3_endpoint=https://minio.internal:9000',
      '--s3_region=eu-west-1',
      '--s3_path_style=false',
    ]);
    expect(buildConfig(explicit, duo).s3).toEqual({
      endpoint: 'https://minio.internal:9000',
      region: 'eu-west-1',
      forcePathStyle: false,
    });
  });

  it('refuses S3 settings that cannot work, naming the option', () => {
    const cases: [string[], RegExp][] = [
      [['-f', 'x.json', '--output', 's3://alerts/dfp'], /--output .*end it with \//],
      [['-f', 'x.json', '--output', 's3://Bad_Bucket/x/'], /not an S3 location/],
      [['-f', 'x.json', '--s3_endpoint', 'minio:9000'], /--s3_endpoint .*http\(s\):\/\//],
      [['-f', 'x.json', '--s3_path_style', 'maybe'], /--s3_path_style .*true, false or auto/],
      [['-f', 'x.json', '--rejects_file', 's3://b/rejects'], /--rejects_file .*end it with \//],
    ];
    for (const [args, message] of cases) {
      expect(() => buildConfig(parse(args), duo)).toThrow(message);
    }
  });
});
