/**
 * The compiled form of a FlatBuffers schema that reef's generic codec works from.
 *
 * `schema/*.fbs` -> {@link parseFbs} -> SchemaSpec -> generated `*.generated.ts` (types + this spec).
 * Field ids are the order of declaration (a union field takes two ids: its `_type` byte, then the
 * value), exactly as flatc assigns them, so the bytes match every other FlatBuffers implementation.
 */

/** Scalar types of the FlatBuffers language, by their canonical names. */
export type ScalarName =
  | 'bool' | 'byte' | 'ubyte' | 'short' | 'ushort' | 'int' | 'uint' | 'long' | 'ulong' | 'float' | 'double';

/** Size in bytes of each scalar type. */
export const SCALAR_SIZE: Record<ScalarName, number> = {
  bool: 1, byte: 1, ubyte: 1, short: 2, ushort: 2, int: 4, uint: 4, long: 8, ulong: 8, float: 4, double: 8,
};

/** The type of one field (or of the elements of a vector field). */
export type TypeSpec =
  | { kind: 'scalar'; scalar: ScalarName; enumName?: string }
  | { kind: 'string' }
  | { kind: 'table'; table: string }
  | { kind: 'union'; union: string }
  | { kind: 'vector'; element: TypeSpec; align?: number };

export interface FieldSpec {
  /** Name as written in the schema (snake_case). */
  name: string;
  /** Property name in decoded objects (camelCase). */
  key: string;
  /** Field id (vtable slot). For a union, the id of the value; the `_type` byte is id - 1. */
  id: number;
  type: TypeSpec;
  /** Default of a scalar field (numbers; booleans as 0/1). */
  defaultValue?: number;
  deprecated?: boolean;
}

export interface TableSpec {
  name: string;
  fields: FieldSpec[];
  /** Number of vtable slots (highest id + 1). */
  slots: number;
}

export interface UnionSpec {
  name: string;
  /** members[0] is NONE (null); members[i] is the table stored when the type byte is i. */
  members: (string | null)[];
}

export interface EnumSpec {
  name: string;
  scalar: ScalarName;
  values: Record<string, number>;
}

export interface SchemaSpec {
  namespace: string;
  fileIdentifier?: string;
  rootType: string;
  tables: Record<string, TableSpec>;
  unions: Record<string, UnionSpec>;
  enums: Record<string, EnumSpec>;
}

/** snake_case -> camelCase, as used for decoded property names. */
export function camelCase(name: string): string {
  return name.replace(/_([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}
