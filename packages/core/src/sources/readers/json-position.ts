/**
 * Says where and why JSON text is invalid. `JSON.parse` error messages differ
 * between Node versions and often omit the position, so after a failed parse
 * (never on the hot path) this small scanner finds the first offending offset.
 */

export interface JsonProblem {
  /** Offset into the scanned text. */
  pos: number;
  reason: string;
}

class Fail {
  constructor(
    readonly pos: number,
    readonly reason: string,
  ) {}
}

function describe(text: string, pos: number): string {
  return pos >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[pos])}`;
}

class Scanner {
  pos = 0;

  constructor(private readonly text: string) {}

  private ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      this.pos++;
    }
  }

  private fail(): never {
    throw new Fail(this.pos, describe(this.text, this.pos));
  }

  private expect(ch: string): void {
    this.ws();
    if (this.text[this.pos] !== ch) this.fail();
    this.pos++;
  }

  private string(): void {
    const t = this.text;
    if (t[this.pos] !== '"') this.fail();
    this.pos++;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c === '\\') this.pos++;
      else if (t.charCodeAt(this.pos) < 32) throw new Fail(this.pos, 'control character in string');
      this.pos++;
    }
    throw new Fail(this.pos, 'unterminated string');
  }

  private number(): void {
    const start = this.pos;
    const t = this.text;
    if (t[this.pos] === '-') this.pos++;
    while (this.pos < t.length && /[0-9.eE+-]/.test(t[this.pos])) this.pos++;
    if (!Number.isFinite(Number(t.slice(start, this.pos)))) {
      throw new Fail(start, `bad number ${JSON.stringify(t.slice(start, this.pos))}`);
    }
  }

  private literal(word: string): void {
    if (this.text.startsWith(word, this.pos)) this.pos += word.length;
    else this.fail();
  }

  value(): void {
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === 't') return this.literal('true');
    if (c === 'f') return this.literal('false');
    if (c === 'n') return this.literal('null');
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    this.fail();
  }

  private object(): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      this.string();
      this.expect(':');
      this.value();
      this.ws();
      const c = this.text[this.pos];
      if (c === '}') {
        this.pos++;
        return;
      }
      if (c !== ',') this.fail();
      this.pos++;
    }
  }

  private array(): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.value();
      this.ws();
      const c = this.text[this.pos];
      if (c === ']') {
        this.pos++;
        return;
      }
      if (c !== ',') this.fail();
      this.pos++;
    }
  }

  document(): void {
    this.value();
    this.ws();
    if (this.pos < this.text.length) {
      throw new Fail(this.pos, 'unexpected content after the JSON value');
    }
  }
}

/** The first problem in `text` as JSON, or null when it is valid. */
export function findJsonProblem(text: string): JsonProblem | null {
  try {
    new Scanner(text).document();
    return null;
  } catch (err) {
    if (err instanceof Fail) return { pos: err.pos, reason: err.reason };
    if (err instanceof RangeError) return { pos: 0, reason: 'nested too deeply' };
    throw err;
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: pos - lineStart + 1 };
}
