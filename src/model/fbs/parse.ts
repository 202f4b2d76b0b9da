/**
 * A parser for the subset of the FlatBuffers schema language the TFLite schemas use:
 * namespace, file_identifier, file_extension, attribute, enum, union, table, root_type,
 * field defaults and the (deprecated) / (force_align: N) attributes. Structs and `(id: N)`
 * are refused with a clear message (the TFLite schemas have neither).
 */
import { camelCase, type EnumSpec, type FieldSpec, type ScalarName, type SchemaSpec, type TableSpec, type TypeSpec, type UnionSpec } from './spec.js';

const SCALAR_ALIASES: Record<string, ScalarName> = {
  bool: 'bool', byte: 'byte', ubyte: 'ubyte', short: 'short', ushort: 'ushort', int: 'int', uint: 'uint',
  long: 'long', ulong: 'ulong', float: 'float', double: 'double',
  int8: 'byte', uint8: 'ubyte', int16: 'short', uint16: 'ushort', int32: 'int', uint32: 'uint',
  int64: 'long', uint64: 'ulong', float32: 'float', float64: 'double',
};

interface RawField { name: string; type: string; isVector: boolean; defaultText?: string; attrs: Record<string, string | true> }

/**
 * Parse the text of a .fbs file into a {@link SchemaSpec}.
 * @throws Error naming the line of the first construct it cannot read.
 */
export function parseFbs(text: string): SchemaSpec {
  const src = text.replace(/\/\/[^\n]*/g, '');
  const tokens = tokenize(src);
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const next = (): string => {
    const t = tokens[i++];
    if (t === undefined) throw new Error('fbs: unexpected end of schema');
    return t;
  };
  const expect = (t: string): void => {
    const got = next();
    if (got !== t) throw new Error(`fbs: expected '${t}' but found '${got}' (token ${i})`);
  };
  const attrs = (): Record<string, string | true> => {
    const out: Record<string, string | true> = {};
    if (peek() !== '(') return out;
    next();
    while (peek() !== ')') {
      const k = next();
      if (peek() === ':') { next(); out[k] = next(); } else out[k] = true;
      if (peek() === ',') next();
    }
    next();
    return out;
  };

  const spec: SchemaSpec = { namespace: '', rootType: '', tables: {}, unions: {}, enums: {} };
  const rawTables: { name: string; fields: RawField[] }[] = [];

  while (i < tokens.length) {
    const kw = next();
    if (kw === 'namespace') { spec.namespace = next(); expect(';'); }
    else if (kw === 'file_identifier') { spec.fileIdentifier = unquote(next()); expect(';'); }
    else if (kw === 'file_extension' || kw === 'attribute' || kw === 'include') { next(); expect(';'); }
    else if (kw === 'root_type') { spec.rootType = next(); expect(';'); }
    else if (kw === 'enum') {
      const name = next();
      expect(':');
      const base = SCALAR_ALIASES[next()];
      if (!base) throw new Error(`fbs: enum ${name} has no scalar base type`);
      attrs();
      expect('{');
      const values: Record<string, number> = {};
      let v = 0;
      while (peek() !== '}') {
        const n = next();
        if (peek() === '=') { next(); v = Number(next()); }
        attrs();
        values[n] = v++;
        if (peek() === ',') next();
      }
      next();
      spec.enums[name] = { name, scalar: base, values } satisfies EnumSpec;
    } else if (kw === 'union') {
      const name = next();
      attrs();
      expect('{');
      const members: (string | null)[] = [null];
      while (peek() !== '}') {
        members.push(next());
        attrs();
        if (peek() === ',') next();
      }
      next();
      spec.unions[name] = { name, members } satisfies UnionSpec;
    } else if (kw === 'table') {
      const name = next();
      attrs();
      expect('{');
      const fields: RawField[] = [];
      while (peek() !== '}') {
        const fname = next();
        expect(':');
        let isVector = false;
        let type: string;
        if (peek() === '[') { next(); type = next(); expect(']'); isVector = true; } else type = next();
        let defaultText: string | undefined;
        if (peek() === '=') { next(); defaultText = next(); }
        const a = attrs();
        if ('id' in a) throw new Error(`fbs: explicit (id:) attributes are not supported (${name}.${fname})`);
        expect(';');
        fields.push({ name: fname, type, isVector, defaultText, attrs: a });
      }
      next();
      rawTables.push({ name, fields });
    } else if (kw === 'struct') {
      throw new Error('fbs: structs are not supported by reef\'s codec');
    } else {
      throw new Error(`fbs: unexpected '${kw}'`);
    }
  }

  for (const rt of rawTables) {
    let id = 0;
    const fields: FieldSpec[] = [];
    for (const f of rt.fields) {
      const elem = resolveType(spec, f.type, rt.name, f.name);
      let type: TypeSpec = elem;
      if (f.isVector) {
        if (elem.kind === 'union' || elem.kind === 'vector') throw new Error(`fbs: vectors of unions are not supported (${rt.name}.${f.name})`);
        const fa = f.attrs['force_align'];
        type = { kind: 'vector', element: elem, ...(typeof fa === 'string' ? { align: Number(fa) } : {}) };
      }
      if (type.kind === 'union') id += 1; // the hidden `<name>_type` byte takes the slot before
      const field: FieldSpec = { name: f.name, key: camelCase(f.name), id, type };
      if (type.kind === 'scalar') field.defaultValue = scalarDefault(spec, type, f.defaultText);
      if (f.attrs['deprecated']) field.deprecated = true;
      fields.push(field);
      id += 1;
    }
    spec.tables[rt.name] = { name: rt.name, fields, slots: id } satisfies TableSpec;
  }
  for (const t of Object.values(spec.tables)) {
    for (const f of t.fields) {
      const ty = f.type.kind === 'vector' ? f.type.element : f.type;
      if (ty.kind === 'table' && !spec.tables[ty.table]) throw new Error(`fbs: ${t.name}.${f.name} has unknown type ${ty.table}`);
    }
  }
  for (const u of Object.values(spec.unions)) {
    for (const m of u.members) if (m !== null && !spec.tables[m]) throw new Error(`fbs: union ${u.name} names unknown table ${m}`);
  }
  if (!spec.tables[spec.rootType]) throw new Error(`fbs: root_type ${spec.rootType} is not a table`);
  return spec;
}

function resolveType(spec: SchemaSpec, t: string, table: string, field: string): TypeSpec {
  const s = SCALAR_ALIASES[t];
  if (s) return { kind: 'scalar', scalar: s };
  if (t === 'string') return { kind: 'string' };
  const e = spec.enums[t];
  if (e) return { kind: 'scalar', scalar: e.scalar, enumName: t };
  if (spec.unions[t]) return { kind: 'union', union: t };
  return { kind: 'table', table: t }; // checked once all tables are known
}

function scalarDefault(spec: SchemaSpec, type: TypeSpec & { kind: 'scalar' }, text: string | undefined): number {
  if (text === undefined) return 0;
  if (text === 'true') return 1;
  if (text === 'false') return 0;
  if (type.enumName) {
    const v = spec.enums[type.enumName]?.values[text];
    if (v !== undefined) return v;
  }
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`fbs: bad default '${text}'`);
  return n;
}

function unquote(s: string): string {
  return s.startsWith('"') ? s.slice(1, -1) : s;
}

function tokenize(src: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_.]*|-?[0-9][0-9a-zA-Z.+-]*|[{}()[\]:;,=])/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new Error(`fbs: cannot read schema near '${src.slice(pos, pos + 30).trim()}'`);
    out.push(m[1]!);
    pos = re.lastIndex;
  }
  return out;
}
