/**
 * A FlatBuffers encoder driven by a {@link SchemaSpec}: the inverse of decodeFlatbuffer.
 *
 * Scalars equal to their default are omitted (as flatc-generated builders do), absent
 * optional fields are not written, and byte vectors are copied once, straight from the
 * caller's Uint8Array into the builder's buffer, honouring `force_align`.
 */
import { Builder } from 'flatbuffers';
import { SCALAR_SIZE, type FieldSpec, type ScalarName, type SchemaSpec, type TableSpec, type TypeSpec } from './spec.js';

export interface EncodeOptions {
  /** Initial size of the builder's buffer; give the expected output size to avoid regrowth. */
  initialSize?: number;
  /** Create the offsets of these root fields first, so they land at the end of the file. */
  rootFieldsFirst?: string[];
}

/**
 * Encode `root` (an object shaped like the generated interface of the root table) to bytes.
 * The result is a view into the builder's buffer (no final copy).
 */
export function encodeFlatbuffer(spec: SchemaSpec, root: object, opts: EncodeOptions = {}): Uint8Array {
  const b = new Builder(Math.max(1024, Math.min(opts.initialSize ?? 1024, 2 ** 31 - 1)));
  const enc = new Encoder(spec, b);
  const rootOffset = enc.table(spec.tables[spec.rootType]!, root as Record<string, unknown>, opts.rootFieldsFirst ?? []);
  b.finish(rootOffset, spec.fileIdentifier);
  return b.asUint8Array();
}

class Encoder {
  constructor(private readonly spec: SchemaSpec, private readonly b: Builder) {}

  table(t: TableSpec, obj: Record<string, unknown>, first: string[] = []): number {
    const offsets = new Map<number, number>();
    const fields = t.fields.filter((f) => !f.deprecated && f.type.kind !== 'scalar' && obj[f.key] !== undefined && obj[f.key] !== null);
    // Reverse declaration order, with `first` before all: builders write back to front.
    const order = [...fields.filter((f) => first.includes(f.key)), ...fields.filter((f) => !first.includes(f.key)).reverse()];
    for (const f of order) offsets.set(f.id, this.value(f, obj[f.key]));
    const b = this.b;
    b.startObject(t.slots);
    for (const f of t.fields) {
      if (f.deprecated) continue;
      const v = obj[f.key];
      if (f.type.kind === 'scalar') {
        if (v === undefined) continue;
        this.addScalarField(f.type.scalar, f.id, v, f.defaultValue ?? 0);
      } else if (f.type.kind === 'union') {
        const off = offsets.get(f.id);
        if (off === undefined) continue;
        const u = this.spec.unions[f.type.union]!;
        const tag = u.members.indexOf((v as { type: string }).type);
        b.addFieldInt8(f.id - 1, tag, 0);
        b.addFieldOffset(f.id, off, 0);
      } else {
        const off = offsets.get(f.id);
        if (off !== undefined) b.addFieldOffset(f.id, off, 0);
      }
    }
    return b.endObject();
  }

  private value(f: FieldSpec, v: unknown): number {
    return this.typed(f.type, v, `${f.name}`);
  }

  private typed(t: TypeSpec, v: unknown, where: string): number {
    const b = this.b;
    switch (t.kind) {
      case 'string':
        return b.createString(String(v));
      case 'table':
        return this.table(this.spec.tables[t.table]!, v as Record<string, unknown>);
      case 'union': {
        const u = v as { type: string; value: Record<string, unknown> };
        const ts = this.spec.tables[u.type];
        if (!ts || !this.spec.unions[t.union]!.members.includes(u.type)) throw new TypeError(`${where}: ${u.type} is not a member of union ${t.union}`);
        return this.table(ts, u.value);
      }
      case 'vector': {
        const e = t.element;
        if (e.kind === 'scalar') {
          const size = SCALAR_SIZE[e.scalar];
          const align = Math.max(t.align ?? 1, size);
          if (v instanceof Uint8Array) {
            b.prep(Math.max(align, 4), v.length);
            return b.createByteVector(v);
          }
          const arr = v as ArrayLike<number | boolean>;
          b.startVector(size, arr.length, align);
          for (let i = arr.length - 1; i >= 0; i--) this.addScalar(e.scalar, arr[i]!);
          return b.endVector();
        }
        const arr = v as unknown[];
        const offs = arr.map((x, i) => this.typed(e, x, `${where}[${i}]`));
        b.startVector(4, offs.length, 4);
        for (let i = offs.length - 1; i >= 0; i--) b.addOffset(offs[i]!);
        return b.endVector();
      }
      default:
        throw new TypeError(`${where}: cannot encode ${t.kind} here`);
    }
  }

  private addScalar(s: ScalarName, v: number | boolean): void {
    const b = this.b;
    const n = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    switch (s) {
      case 'bool': case 'byte': case 'ubyte': b.addInt8(n); break;
      case 'short': case 'ushort': b.addInt16(n); break;
      case 'int': case 'uint': b.addInt32(n); break;
      case 'long': case 'ulong': b.addInt64(BigInt.asIntN(64, BigInt(Math.trunc(n)))); break;
      case 'float': b.addFloat32(n); break;
      case 'double': b.addFloat64(n); break;
    }
  }

  private addScalarField(s: ScalarName, id: number, v: unknown, def: number): void {
    const b = this.b;
    const n = typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
    switch (s) {
      case 'bool': case 'byte': case 'ubyte': b.addFieldInt8(id, n, def); break;
      case 'short': case 'ushort': b.addFieldInt16(id, n, def); break;
      case 'int': case 'uint': b.addFieldInt32(id, n, def); break;
      case 'long': case 'ulong': b.addFieldInt64(id, BigInt.asIntN(64, BigInt(Math.trunc(n))), BigInt(def)); break;
      case 'float': b.addFieldFloat32(id, n, def); break;
      case 'double': b.addFieldFloat64(id, n, def); break;
    }
  }
}
