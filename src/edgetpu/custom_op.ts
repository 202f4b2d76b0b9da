/**
 * What edgetpu_compiler put inside a compiled model: the options of each `edgetpu-custom-op`
 * (a FlexBuffer map, libedgetpu `tflite/custom_op_data.cc`) and the executable package they carry
 * (a FlatBuffer with identifier "DWN1", libedgetpu `executable/executable.fbs`).
 *
 * Keys of the options map: "1" version, "4" the serialized package, "5" execution preference,
 * "6" chip of each executable package, "7" further packages (one per extra chip).
 * Package: min_runtime_version (0), serialized_multi_executable (1), signature (2),
 * keypair_version (3), compiler_version (4), virtual_chip_id (5), model_identifier (7).
 * MultiExecutable: serialized_executables (0). Executable: see {@link readExecutable}.
 */
import { ReefError } from '../errors.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { FbError, FbTable } from './fbtable.js';
import { FlexbufferError, readFlexbuffer, type FlexRef } from '../model/flexbuffer.js';

/** The custom code edgetpu_compiler gives the op that replaces each mapped segment. */
export const EDGETPU_CUSTOM_CODE = 'edgetpu-custom-op';

/** Executable kinds (executable.fbs ExecutableType). */
export type ExecutableType = 'STAND_ALONE' | 'PARAMETER_CACHING' | 'EXECUTION_ONLY';
const EXECUTABLE_TYPES: ExecutableType[] = ['STAND_ALONE', 'PARAMETER_CACHING', 'EXECUTION_ONLY'];

/** Layer data types (executable.fbs DataType). */
const LAYER_TYPES: Record<number, string> = {
  0: 'FIXED_POINT8', 1: 'FIXED_POINT16', 2: 'SIGNED_FIXED_POINT32', 3: 'BFLOAT', 4: 'HALF', 5: 'SINGLE',
  8: 'SIGNED_FIXED_POINT8', 9: 'SIGNED_FIXED_POINT16',
};

/** One input or output of an Edge TPU executable. */
export interface EdgetpuLayer {
  name: string;
  /** Bytes including padding, batch 1. */
  sizeBytes: number;
  /** [y, x, z] (1 for absent dimensions). */
  dims: [number, number, number];
  dataType: string;
  zeroPoint: number;
  dequantizationFactor: number;
  executionCountPerInference: number;
}

/** One executable of a package. */
export interface EdgetpuExecutable {
  type: ExecutableType;
  name: string;
  chip: string;
  batchSize: number;
  scratchSizeBytes: number;
  /** Bytes of the parameter stream: cached on chip (PARAMETER_CACHING) or streamed each inference. */
  parameterBytes: number;
  /** Parameter-caching token as 16 hex digits ('0000000000000000' when unset). */
  parameterCachingToken: string;
  instructionBitstreams: number;
  usedNarrowMemoryBytesPerTile: number;
  useTpuDramForParameters: boolean;
  estimatedCycles: number;
  inputs: EdgetpuLayer[];
  outputs: EdgetpuLayer[];
}

/** One executable package (one per chip the op was compiled for). */
export interface EdgetpuPackage {
  /** Chip enum of the options' "6" vector (undefined for old single-chip options). */
  chipId?: number;
  compilerVersion: string;
  minRuntimeVersion: number;
  keypairVersion: number;
  virtualChipId: number;
  modelIdentifier?: string;
  signatureBytes: number;
  executables: EdgetpuExecutable[];
}

/** The decoded options of one edgetpu-custom-op. */
export interface EdgetpuCustomOp {
  /** Custom-op data version (options key "1"). */
  version: number;
  /** Deprecated chip name (key "2"), written by older compilers ('beagle'). */
  chipName?: string;
  executionPreference?: number;
  packages: EdgetpuPackage[];
  /** Parameter bytes of the PARAMETER_CACHING executables (what the chip caches in its ~8 MiB). */
  cachedParameterBytes: number;
  /** Parameter bytes of the STAND_ALONE / EXECUTION_ONLY executables (streamed per inference). */
  streamedParameterBytes: number;
}

function invalid(what: string): ReefError {
  return new ReefError('REEF_MODEL_INVALID', `Invalid edgetpu-custom-op options: ${what}`);
}

function layer(t: FbTable): EdgetpuLayer {
  const numerics = t.table(5, 'numerics');
  return {
    name: t.string(0) ?? '',
    sizeBytes: t.int(1),
    dims: [t.int(2), t.int(3), t.int(4)],
    dataType: LAYER_TYPES[t.short(6)] ?? `DATA_TYPE_${t.short(6)}`,
    zeroPoint: numerics ? numerics.int(0) : 0,
    dequantizationFactor: numerics ? numerics.float(1) : 0,
    executionCountPerInference: t.int(9, 1),
  };
}

/**
 * Read one serialized Executable (executable.fbs `Executable`; no file identifier).
 * Field ids: version 0, name 1, serialized_model 2, batch_size 3, scratch_size_bytes 4,
 * instruction_bitstreams 5, parameters 6, dma_hints 7, input_layers 8, output_layers 9, chip 10,
 * estimated_cycles 11, used_narrow_memory_bytes_per_tile 12, type 13, parameter_caching_token 14,
 * use_tpu_dram_for_parameters 15, estimated_cycles_64bit 16.
 */
export function readExecutable(bytes: Uint8Array): EdgetpuExecutable {
  const t = FbTable.root(bytes, 'Executable');
  const typeNum = t.short(13);
  const cycles64 = t.int64(16);
  return {
    type: EXECUTABLE_TYPES[typeNum] ?? 'STAND_ALONE',
    name: t.string(1) ?? '',
    chip: t.string(10) ?? '',
    batchSize: t.int(3),
    scratchSizeBytes: t.int(4),
    parameterBytes: t.vectorLength(6),
    parameterCachingToken: t.uint64(14).toString(16).padStart(16, '0'),
    instructionBitstreams: t.vectorLength(5),
    usedNarrowMemoryBytesPerTile: t.int(12),
    useTpuDramForParameters: t.bool(15),
    estimatedCycles: cycles64 !== 0n ? Number(cycles64) : t.int(11),
    inputs: t.tables(8, 'input_layers').map(layer),
    outputs: t.tables(9, 'output_layers').map(layer),
  };
}

/** Read one executable package (identifier "DWN1"). */
export function readPackage(bytes: Uint8Array, chipId?: number): EdgetpuPackage {
  const p = FbTable.root(bytes, 'Package', 'DWN1');
  const multi = p.bytesField(1);
  if (!multi) throw new FbError('Package', 'has no serialized_multi_executable');
  const m = FbTable.root(multi, 'MultiExecutable');
  const modelIdentifier = p.string(7);
  return {
    ...(chipId !== undefined ? { chipId } : {}),
    compilerVersion: p.string(4) ?? '',
    minRuntimeVersion: p.int(0),
    keypairVersion: p.int(3),
    virtualChipId: p.int(5),
    ...(modelIdentifier ? { modelIdentifier } : {}),
    signatureBytes: p.bytesField(2)?.length ?? 0,
    executables: m.byteStrings(0).map(readExecutable),
  };
}

/**
 * Decode the custom options of an `edgetpu-custom-op`.
 *
 * @example
 * const op = model.subgraphs[0].operators.find((o) => o.customCode === 'edgetpu-custom-op')!;
 * const info = readEdgetpuCustomOp(op.customOptions!);
 * console.log(info.packages[0].compilerVersion, info.cachedParameterBytes);
 * @throws ReefError REEF_MODEL_INVALID naming what is malformed.
 */
export function readEdgetpuCustomOp(customOptions: Uint8Array): EdgetpuCustomOp {
  try {
    const map = readFlexbuffer(customOptions).asMap();
    const get = (k: string): FlexRef | undefined => map.get(k);
    const exe = get('4');
    if (!exe) throw invalid('no executable (key "4") in the options map');
    const chips = get('6')?.asVector().map((c) => c.asNumber());
    const rest = get('7')?.asVector().map((s) => s.asBytes()) ?? [];
    if (chips && chips.length !== rest.length + 1) {
      throw invalid(`${chips.length} chip ids (key "6") but ${rest.length + 1} executable packages`);
    }
    const packages = [exe.asBytes(), ...rest].map((b, i) => readPackage(b, chips?.[i]));
    let cached = 0, streamed = 0;
    // Several packages (one per chip) hold the same model: count the first one.
    for (const e of packages[0]?.executables ?? []) {
      if (e.type === 'PARAMETER_CACHING') cached += e.parameterBytes;
      else streamed += e.parameterBytes;
    }
    const pref = get('5');
    const chipName = get('2');
    return {
      version: get('1')?.asNumber() ?? 0,
      ...(chipName ? { chipName: chipName.asString() } : {}),
      ...(pref ? { executionPreference: pref.asNumber() } : {}),
      packages,
      cachedParameterBytes: cached,
      streamedParameterBytes: streamed,
    };
  } catch (e) {
    if (e instanceof FlexbufferError || e instanceof FbError) throw invalid(e.message);
    throw e;
  }
}

/** One Edge TPU segment of a compiled model. */
export interface EdgetpuSegment {
  /** Operator index of the custom op in subgraph 0. */
  operator: number;
  info: EdgetpuCustomOp;
}

/** Every edgetpu-custom-op of a model's main subgraph, decoded. */
export function edgetpuSegments(model: TfliteModel): EdgetpuSegment[] {
  const sg = model.subgraphs[0];
  if (!sg) return [];
  const out: EdgetpuSegment[] = [];
  sg.operators.forEach((op, i) => {
    if (op.opcode === 'CUSTOM' && op.customCode === EDGETPU_CUSTOM_CODE) {
      if (!op.customOptions) throw invalid(`operator ${i} has no custom options`);
      out.push({ operator: i, info: readEdgetpuCustomOp(op.customOptions) });
    }
  });
  return out;
}

/**
 * A short, stable description of an edgetpu-custom-op for `reef inspect`: compiler version,
 * minimum runtime, caching token, executables and parameter sizes, as plain JSON.
 *
 * @example
 * describeEdgetpuCustomOp(op.customOptions!)
 * // { compilerVersion: '...', minRuntimeVersion: 13, executables: [...], cachedParameterBytes: ... }
 */
export function describeEdgetpuCustomOp(customOptions: Uint8Array): {
  compilerVersion: string;
  minRuntimeVersion: number;
  parameterCachingToken: string | null;
  packages: number;
  executables: Array<{ type: ExecutableType; parameterBytes: number; inputs: string[]; outputs: string[] }>;
  cachedParameterBytes: number;
  streamedParameterBytes: number;
} {
  const info = readEdgetpuCustomOp(customOptions);
  const p = info.packages[0]!;
  const caching = p.executables.find((e) => e.type === 'PARAMETER_CACHING');
  return {
    compilerVersion: p.compilerVersion,
    minRuntimeVersion: p.minRuntimeVersion,
    parameterCachingToken: caching ? caching.parameterCachingToken : null,
    packages: info.packages.length,
    executables: p.executables.map((e) => ({
      type: e.type, parameterBytes: e.parameterBytes,
      inputs: e.inputs.map((l) => l.name), outputs: e.outputs.map((l) => l.name),
    })),
    cachedParameterBytes: info.cachedParameterBytes,
    streamedParameterBytes: info.streamedParameterBytes,
  };
}
