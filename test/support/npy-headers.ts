/**
 * Random .npy files described token by token, and two models of who reads them, both decided from
 * the description (never by parsing the rendered text):
 *  - `numpyReadsHeader`: numpy's own rule (numpy/lib/_format_impl.py, _read_array_header: the header
 *    is ast.literal_eval'd, must be a dict with exactly the keys descr, fortran_order, shape, a tuple
 *    of ints, a bool and a dtype numpy knows), checked against real numpy's verdicts on committed
 *    headers (test/fixtures/npy/headers.json);
 *  - `weRead`: the subset our reader takes (src/io/npy.ts): numpy's rule less the spellings no
 *    writer produces (hexadecimal or signed dimensions, comments, escapes, leading whitespace,
 *    duplicate keys, ...), less fortran_order True and the dtypes we do not read, and with data
 *    exactly as long as the shape needs.
 */
import fc from 'fast-check';

/** Whitespace between tokens: Python joins lines inside brackets; \v is not whitespace to its tokenizer. */
export const SPACES = ['', ' ', '  ', '\t', '\n', '\r', '\f', '\v'] as const;
type Space = (typeof SPACES)[number];
const OUR_SPACES: ReadonlySet<string> = new Set(['', ' ', '  ', '\t', '\n']);

/** A descr as numpy would take it or not, and whether we read it (and as what). */
export const DESCRS: ReadonlyArray<{ text: string; numpy: boolean; ours?: { size: 1 | 4 | 8; dtype: 'uint8' | 'float32' | 'float64'; big: boolean } }> = [
  { text: '<f8', numpy: true, ours: { size: 8, dtype: 'float64', big: false } },
  { text: '>f8', numpy: true, ours: { size: 8, dtype: 'float64', big: true } },
  { text: '<f4', numpy: true, ours: { size: 4, dtype: 'float32', big: false } },
  { text: '>f4', numpy: true, ours: { size: 4, dtype: 'float32', big: true } },
  { text: '|u1', numpy: true, ours: { size: 1, dtype: 'uint8', big: false } },
  { text: 'f8', numpy: true, ours: { size: 8, dtype: 'float64', big: false } },
  { text: '=f4', numpy: true, ours: { size: 4, dtype: 'float32', big: false } },
  { text: '>u1', numpy: true, ours: { size: 1, dtype: 'uint8', big: false } },
  { text: '<i8', numpy: true },
  { text: 'float64', numpy: true },
  { text: '<c16', numpy: true },
  { text: '<f8 ', numpy: false },
  { text: 'xx', numpy: false },
  { text: '', numpy: false },
];

/** How a dimension is spelled: Python reads all but float and some leading-zero and L forms as an int. */
export const SPELLINGS = ['decimal', 'hex', 'float', 'leadingZero', 'underscore', 'plus', 'minus', 'bool', 'parenthesised', 'long'] as const;
type Spelling = (typeof SPELLINGS)[number];

export interface Dim {
  value: number;
  spelling: Spelling;
}

export type Value =
  | { key: 'descr'; kind: 'string'; descr: number; quote: "'" | '"' }
  | { key: 'descr'; kind: 'structured' }
  | { key: 'fortran_order'; literal: 'True' | 'False' | '1' | 'None' | 'true' }
  | { key: 'shape'; kind: 'tuple'; dims: Dim[]; comma: boolean; inner: Space; sep: Space }
  | { key: 'shape'; kind: 'list' | 'int' };

export interface Entry {
  name: 'descr' | 'fortran_order' | 'shape' | 'Descr' | 'order' | 'shape ' | 'd\xe9scr';
  quote: "'" | '"';
  prefix: '' | 'u' | 'b';
  beforeColon: Space;
  afterColon: Space;
  value: Value;
}

export interface HeaderSpec {
  version: readonly [number, number];
  lead: '' | ' ' | '\t' | '\n';
  entries: Entry[];
  /** Space after '{', after each ',' and before each ','. */
  spaces: Space[];
  dictComma: boolean;
  /** What follows '}': spaces and the newline numpy writes, or something else. */
  tail: { kind: 'pad'; spaces: number } | { kind: 'other'; text: '' | '\n\n' | ' x\n' | '\t\n' | ' #c\n' | ' \x00\n' | '}\n' };
  /** Bytes of data beyond (or short of) what the shape needs. */
  dataDelta: 0 | -1 | 1 | 8;
}

const renderDim = (d: Dim): string => {
  const dec = String(d.value);
  switch (d.spelling) {
    case 'decimal':
      return dec;
    case 'hex':
      return `0x${d.value.toString(16)}`;
    case 'float':
      return `${dec}.0`;
    case 'leadingZero':
      return `0${dec}`;
    case 'underscore':
      return dec.length >= 2 ? `${dec[0]}_${dec.slice(1)}` : dec;
    case 'plus':
      return `+${dec}`;
    case 'minus':
      return `-${dec}`;
    case 'bool':
      return d.value === 0 ? 'False' : d.value === 1 ? 'True' : dec;
    case 'parenthesised':
      return `(${dec})`;
    case 'long':
      return `${dec}L`;
  }
};

const renderValue = (v: Value): string => {
  if (v.key === 'descr') return v.kind === 'structured' ? "[('a', '<f8')]" : `${v.quote}${DESCRS[v.descr]!.text}${v.quote}`;
  if (v.key === 'fortran_order') return v.literal;
  if (v.kind !== 'tuple') return v.kind === 'list' ? '[3, 4]' : '3';
  return `(${v.inner}${v.dims.map(renderDim).join(`${v.sep},${v.sep}`)}${v.comma ? ',' : ''}${v.inner})`;
};

/** The header text (one character per byte, latin1), as it is written after the length field. */
export function renderHeader(s: HeaderSpec): string {
  let out = `${s.lead}{${s.spaces[0] ?? ''}`;
  s.entries.forEach((e, k) => {
    if (k > 0) out += `${s.spaces[2 * k - 1] ?? ''},${s.spaces[2 * k] ?? ''}`;
    out += `${e.prefix}${e.quote}${e.name}${e.quote}${e.beforeColon}:${e.afterColon}${renderValue(e.value)}`;
  });
  if (s.dictComma && s.entries.length > 0) out += ',';
  out += '}';
  out += s.tail.kind === 'pad' ? `${' '.repeat(s.tail.spaces)}\n` : s.tail.text;
  return out;
}

/** Elements a shape describes, for the data length (0 for a shape that is no tuple). */
export function elementsOf(s: HeaderSpec): number {
  const shape = [...s.entries].reverse().find((e) => e.value.key === 'shape')?.value;
  if (shape === undefined || shape.key !== 'shape' || shape.kind !== 'tuple') return 0;
  return shape.dims.reduce((a, d) => a * d.value, 1);
}

/** Item size of the last descr entry when we read it, else 8. */
export function itemSizeOf(s: HeaderSpec): number {
  const v = [...s.entries].reverse().find((e) => e.value.key === 'descr')?.value;
  return v !== undefined && v.key === 'descr' && v.kind === 'string' ? (DESCRS[v.descr]!.ours?.size ?? 8) : 8;
}

/** The data's length in the file: what the shape needs plus dataDelta (never below 0). */
export const dataBytesOf = (s: HeaderSpec): number => Math.max(0, elementsOf(s) * itemSizeOf(s) + s.dataDelta);

/** The whole file: magic, version, header length, header, data of the shape's length plus dataDelta. */
export function renderFile(s: HeaderSpec): Uint8Array {
  const header = renderHeader(s);
  const lenBytes = s.version[0] === 1 ? 2 : 4;
  const data = dataBytesOf(s);
  const out = new Uint8Array(8 + lenBytes + header.length + data);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, s.version[0], s.version[1]]);
  const dv = new DataView(out.buffer);
  if (lenBytes === 2) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  for (let k = 0; k < header.length; k++) out[8 + lenBytes + k] = header.charCodeAt(k);
  // data: bytes that make finite numbers in either byte order
  for (let k = 8 + lenBytes + header.length; k < out.length; k++) out[k] = 0x3f;
  return out;
}

/** The spaces the rendered header holds (entries and commas use only some of `spaces`). */
function usedSpaces(s: HeaderSpec): Space[] {
  const out: Space[] = [s.spaces[0]!];
  for (let k = 1; k < s.entries.length; k++) out.push(s.spaces[2 * k - 1]!, s.spaces[2 * k]!);
  for (const e of s.entries) {
    out.push(e.beforeColon, e.afterColon);
    if (e.value.key === 'shape' && e.value.kind === 'tuple') out.push(e.value.inner, ...(e.value.dims.length > 1 ? [e.value.sep] : []));
  }
  return out;
}

const validVersion = (v: readonly [number, number]): boolean => (v[0] === 1 || v[0] === 2 || v[0] === 3) && v[1] === 0;

/** Python reads this dimension as a literal at all (a syntax error spoils the whole header). */
function dimParses(d: Dim, major: number): boolean {
  if (d.spelling === 'leadingZero') return d.value === 0; // Python 3: '00' is 0, '07' a syntax error
  if (d.spelling === 'long') return major <= 2; // numpy's _filter_header drops Python 2's L for 1.0 and 2.0
  return true;
}

/** Python reads this dimension as an int (bool is one); a float is not. */
const dimIsInt = (d: Dim): boolean => d.spelling !== 'float';

function valueParses(v: Value, major: number): boolean {
  if (v.key === 'fortran_order') return v.literal !== 'true'; // a bare name: literal_eval refuses it
  if (v.key === 'shape' && v.kind === 'tuple') {
    if (v.dims.length === 0 && v.comma) return false; // (,)
    return v.dims.every((d) => dimParses(d, major));
  }
  return true;
}

/** numpy's verdict on the header alone (numpy.lib._format_impl._read_array_header). */
export function numpyReadsHeader(s: HeaderSpec): boolean {
  if (!validVersion(s.version)) return false;
  if (usedSpaces(s).includes('\v')) return false;
  if (s.tail.kind === 'other' && (s.tail.text === ' x\n' || s.tail.text === ' \x00\n' || s.tail.text === '}\n')) return false;
  if (!s.entries.every((e) => valueParses(e.value, s.version[0]))) return false;
  // a dict: the last value of each key wins; the keys must be exactly these three str keys
  const last = new Map<string, Value>();
  for (const e of s.entries) last.set(`${e.prefix === 'b' ? 'b:' : ''}${e.name}`, e.value);
  if (last.size !== 3 || !['descr', 'fortran_order', 'shape'].every((k) => last.has(k))) return false;
  const descr = last.get('descr')!;
  const fortran = last.get('fortran_order')!;
  const shape = last.get('shape')!;
  // the value under each key must be of that key's kind
  if (descr.key !== 'descr' || fortran.key !== 'fortran_order' || shape.key !== 'shape') return false;
  if (descr.kind === 'string' && !DESCRS[descr.descr]!.numpy) return false;
  if (fortran.literal !== 'True' && fortran.literal !== 'False') return false;
  if (shape.kind !== 'tuple') return false;
  if (shape.dims.length === 1 && !shape.comma) return false; // (3) is the int 3
  return shape.dims.every(dimIsInt);
}

/** What our reader makes of the file: undefined when it must refuse it, else the tensor's shape and dtype. */
export function weRead(s: HeaderSpec): { shape: number[]; dtype: string; big: boolean } | undefined {
  if (!numpyReadsHeader(s) || dataBytesOf(s) !== elementsOf(s) * itemSizeOf(s) || s.lead !== '' || s.tail.kind !== 'pad') return undefined;
  if (!usedSpaces(s).every((w) => OUR_SPACES.has(w))) return undefined;
  if (s.entries.length !== 3 || s.entries.some((e) => e.prefix !== '')) return undefined; // no duplicates, no u'' or b''
  let result: { shape: number[]; dtype: string; big: boolean } | undefined = { shape: [], dtype: '', big: false };
  for (const { value: v } of s.entries) {
    if (v.key === 'descr') {
      const ours = v.kind === 'string' ? DESCRS[v.descr]!.ours : undefined;
      if (ours === undefined) return undefined;
      result = { ...result, dtype: ours.dtype, big: ours.big };
    } else if (v.key === 'fortran_order') {
      if (v.literal !== 'False') return undefined;
    } else if (v.key === 'shape') {
      if (v.kind !== 'tuple') return undefined;
      if (!v.dims.every((d) => d.spelling === 'decimal' || (d.spelling === 'underscore' && d.value < 10) || (d.spelling === 'bool' && d.value > 1))) return undefined;
      result = { ...result, shape: v.dims.map((d) => d.value) };
    }
  }
  return result;
}

const space = fc.constantFrom(...SPACES);
const mostlyPlain = (...rare: Space[]): fc.Arbitrary<Space> => fc.oneof({ weight: 6, arbitrary: fc.constantFrom<Space>('', ' ') }, { weight: 1, arbitrary: rare.length > 0 ? fc.constantFrom(...rare) : space });
const dim: fc.Arbitrary<Dim> = fc.record({
  value: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 10, max: 12 })),
  spelling: fc.oneof({ weight: 12, arbitrary: fc.constant<Spelling>('decimal') }, { weight: 1, arbitrary: fc.constantFrom(...SPELLINGS) }),
});

const valueOf = (key: 'descr' | 'fortran_order' | 'shape'): fc.Arbitrary<Value> => {
  if (key === 'descr') {
    return fc.oneof(
      { weight: 12, arbitrary: fc.record({ key: fc.constant('descr' as const), kind: fc.constant('string' as const), descr: fc.nat({ max: DESCRS.length - 1 }), quote: fc.constantFrom<"'" | '"'>("'", "'", '"') }) },
      { weight: 1, arbitrary: fc.constant({ key: 'descr' as const, kind: 'structured' as const }) },
    );
  }
  if (key === 'fortran_order') {
    return fc.record({ key: fc.constant('fortran_order' as const), literal: fc.oneof({ weight: 8, arbitrary: fc.constant('False' as const) }, { weight: 3, arbitrary: fc.constantFrom('True', '1', 'None', 'true') }) });
  }
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        key: fc.constant('shape' as const),
        kind: fc.constant('tuple' as const),
        dims: fc.array(dim, { maxLength: 4 }),
        comma: fc.boolean(),
        inner: mostlyPlain(),
        sep: mostlyPlain(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ key: fc.constant('shape' as const), kind: fc.constantFrom('list' as const, 'int' as const) }) },
  );
};

const entryOf = (key: 'descr' | 'fortran_order' | 'shape'): fc.Arbitrary<Entry> =>
  fc.record({
    name: fc.oneof({ weight: 20, arbitrary: fc.constant(key) }, { weight: 1, arbitrary: fc.constantFrom<Entry['name']>('Descr', 'order', 'shape ', 'd\xe9scr') }),
    quote: fc.constantFrom<"'" | '"'>("'", "'", '"'),
    prefix: fc.oneof({ weight: 20, arbitrary: fc.constant<'' | 'u' | 'b'>('') }, { weight: 1, arbitrary: fc.constantFrom<'u' | 'b'>('u', 'b') }),
    beforeColon: mostlyPlain(),
    afterColon: mostlyPlain(),
    value: valueOf(key),
  });

/** The sample of headerSpec that test/fixtures/npy/headers.json holds numpy's verdicts on. */
export const HEADER_SAMPLE = { seed: 17, numRuns: 600 } as const;

const TAILS = ['', '\n\n', ' x\n', '\t\n', ' #c\n', ' \x00\n', '}\n'] as const;

/** A header with many things drawn at random at once (rarely one a writer makes). */
const wildSpec: fc.Arbitrary<HeaderSpec> = fc
  .record({
    version: fc.oneof({ weight: 10, arbitrary: fc.constantFrom<[number, number]>([1, 0], [2, 0], [3, 0]) }, { weight: 1, arbitrary: fc.constantFrom<[number, number]>([1, 1], [4, 0], [0, 0]) }),
    lead: fc.oneof({ weight: 12, arbitrary: fc.constant<HeaderSpec['lead']>('') }, { weight: 1, arbitrary: fc.constantFrom<HeaderSpec['lead']>(' ', '\t', '\n') }),
    keys: fc.oneof(
      { weight: 10, arbitrary: fc.shuffledSubarray(['descr', 'fortran_order', 'shape'] as const, { minLength: 3, maxLength: 3 }) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom('descr' as const, 'fortran_order' as const, 'shape' as const), { maxLength: 5 }) },
    ),
    spaces: fc.array(mostlyPlain(), { minLength: 12, maxLength: 12 }),
    dictComma: fc.boolean(),
    tail: fc.oneof(
      { weight: 10, arbitrary: fc.record({ kind: fc.constant('pad' as const), spaces: fc.nat({ max: 80 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('other' as const), text: fc.constantFrom(...TAILS) }) },
    ),
    dataDelta: fc.oneof({ weight: 10, arbitrary: fc.constant<0>(0) }, { weight: 1, arbitrary: fc.constantFrom<-1 | 1 | 8>(-1, 1, 8) }),
  })
  .chain(({ keys, ...rest }) => fc.tuple(...keys.map(entryOf)).map((entries): HeaderSpec => ({ ...rest, entries })));

const OUR_DESCRS = DESCRS.flatMap((d, k) => (d.ours !== undefined ? [k] : []));

/** A header as a writer makes it: the three keys in some order, a descr we read, C order, padding. */
const cleanSpec: fc.Arbitrary<HeaderSpec> = fc
  .record({
    version: fc.constantFrom<[number, number]>([1, 0], [2, 0], [3, 0]),
    keys: fc.shuffledSubarray(['descr', 'fortran_order', 'shape'] as const, { minLength: 3, maxLength: 3 }),
    quote: fc.constantFrom<"'" | '"'>("'", '"'),
    descr: fc.constantFrom(...OUR_DESCRS),
    dims: fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 10, max: 12 })), { maxLength: 4 }),
    comma: fc.boolean(),
    plain: fc.array(fc.constantFrom<Space>('', ' '), { minLength: 20, maxLength: 20 }),
    dictComma: fc.boolean(),
    pad: fc.nat({ max: 80 }),
  })
  .map(({ version, keys, quote, descr, dims, comma, plain, dictComma, pad }): HeaderSpec => {
    const value = (key: 'descr' | 'fortran_order' | 'shape'): Value =>
      key === 'descr'
        ? { key, kind: 'string', descr, quote }
        : key === 'fortran_order'
          ? { key, literal: 'False' }
          : { key, kind: 'tuple', dims: dims.map((d) => ({ value: d, spelling: 'decimal' })), comma: comma || dims.length === 1, inner: plain[18]!, sep: plain[19]! };
    const entries = keys.map((key, k): Entry => ({ name: key, quote, prefix: '', beforeColon: plain[12 + 2 * k]!, afterColon: plain[13 + 2 * k]!, value: value(key) }));
    return { version, lead: '', entries, spaces: plain.slice(0, 12), dictComma, tail: { kind: 'pad', spaces: pad }, dataDelta: 0 };
  });

/** One change to a header, chosen by `r` where there is a choice. */
const MUTATIONS: ReadonlyArray<(s: HeaderSpec, r: number) => void> = [
  (s, r) => void (s.version = ([[1, 1], [4, 0], [0, 0], [2, 1]] as const)[r % 4]!),
  (s, r) => void (s.lead = ([' ', '\t', '\n'] as const)[r % 3]!),
  (s, r) => void (s.spaces[r % Math.max(1, 2 * s.entries.length - 1)] = SPACES[(r >> 4) % SPACES.length]!),
  (s, r) => {
    const e = s.entries[r % s.entries.length];
    if (e !== undefined) (r >> 4) % 2 === 0 ? (e.beforeColon = SPACES[(r >> 5) % SPACES.length]!) : (e.afterColon = SPACES[(r >> 5) % SPACES.length]!);
  },
  (s, r) => {
    const e = s.entries[r % s.entries.length];
    if (e !== undefined) e.name = (['Descr', 'order', 'shape ', 'd\xe9scr'] as const)[(r >> 4) % 4]!;
  },
  (s, r) => {
    const e = s.entries[r % s.entries.length];
    if (e !== undefined) e.prefix = (r >> 4) % 2 === 0 ? 'u' : 'b';
  },
  (s, r) => {
    const e = s.entries[r % s.entries.length];
    if (e !== undefined) s.entries.splice((r >> 4) % (s.entries.length + 1), 0, structuredClone(e));
  },
  (s, r) => void s.entries.splice(r % Math.max(1, s.entries.length), 1),
  (s, r) => {
    const e = s.entries.find((x) => x.value.key === 'descr');
    if (e !== undefined) e.value = (r >> 8) % 8 === 0 ? { key: 'descr', kind: 'structured' } : { key: 'descr', kind: 'string', descr: r % DESCRS.length, quote: e.quote };
  },
  (s, r) => {
    const e = s.entries.find((x) => x.value.key === 'fortran_order');
    if (e !== undefined) e.value = { key: 'fortran_order', literal: (['True', '1', 'None', 'true'] as const)[r % 4]! };
  },
  (s, r) => {
    const e = s.entries.find((x) => x.value.key === 'shape');
    if (e === undefined) return;
    const v = e.value;
    if (v.key !== 'shape' || v.kind !== 'tuple') return;
    const kind = r % 6;
    if (kind === 0) e.value = { key: 'shape', kind: (r >> 4) % 2 === 0 ? 'list' : 'int' };
    else if (kind === 1) v.comma = !v.comma;
    else if (kind === 2) {
      v.dims = [];
      v.comma = true; // (,)
    } else if (kind === 3) (r >> 4) % 2 === 0 ? (v.inner = SPACES[(r >> 5) % SPACES.length]!) : (v.sep = SPACES[(r >> 5) % SPACES.length]!);
    else {
      if (v.dims.length === 0) v.dims.push({ value: (r >> 8) % 13, spelling: 'decimal' });
      v.dims[(r >> 4) % v.dims.length]!.spelling = SPELLINGS[(r >> 12) % SPELLINGS.length]!;
    }
  },
  (s, r) => void (s.tail = { kind: 'other', text: TAILS[r % TAILS.length]! }),
  (s, r) => void (s.dataDelta = ([-1, 1, 8] as const)[r % 3]!),
];

/**
 * A random .npy header: mostly one a writer makes with none, one or two things changed (each
 * kind of change is drawn as often as any other), sometimes one with many things drawn at once.
 */
export const headerSpec: fc.Arbitrary<HeaderSpec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(cleanSpec, fc.array(fc.tuple(fc.nat({ max: MUTATIONS.length - 1 }), fc.nat()), { maxLength: 2 })).map(([clean, changes]) => {
      const s = structuredClone(clean);
      for (const [m, r] of changes) MUTATIONS[m]!(s, r);
      return s;
    }),
  },
  { weight: 1, arbitrary: wildSpec },
);
