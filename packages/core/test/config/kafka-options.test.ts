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
