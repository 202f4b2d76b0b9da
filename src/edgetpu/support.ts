/**
 * Can the Edge TPU take this one operator, on its own? (Where it sits in the graph is
 * partition.ts's business.) Checks, in the order the compiler's statuses suggest: the op is in
 * the table and the compiler is new enough, its version, static shapes, integer data types,
 * at most 3 non-1 innermost dimensions, then the operator's own constraints.
 */
import type { TfliteModel, TfliteOperator, TfliteSubgraph } from '../model/tflite/ir.js';
import { CONSTRAINT_CHECKS, isConstant } from './constraints.js';
import { CONSTRAINTS, OP_RULES, REASONS, UNSUPPORTED_HINTS, type OpRule, type ReasonKey } from './rules.js';

/** Why an operator cannot be mapped on its own. */
export interface Unsupported {
  reason: ReasonKey;
  /** The failed rule in reef's words. */
  detail: string;
  hint?: string;
  /** Set when the compiler cannot even read the operator and refuses the whole model: its own error line. */
  refusal?: string;
}

/** The highest version of `rule`'s operator that compiler `compilerVersion` can read, if the table knows one. */
export function readableVersion(rule: OpRule, compilerVersion: number): number | undefined {
  return rule.readableUpTo?.find(([upTo]) => compilerVersion <= upTo)?.[1];
}

const FLOAT_IO_HINT = 'give the model integer I/O (converter inference_input_type/inference_output_type=tf.uint8; reef quantize --io uint8)';

function label(t: { name: string } | undefined, i: number): string {
  return t?.name ? `tensor ${i} ('${t.name}')` : `tensor ${i}`;
}

/**
 * Check one operator against the rules for compiler `compilerVersion` (major number).
 * @returns undefined when the operator can be mapped, else the reason.
 */
export function checkOperatorSupport(model: TfliteModel, sg: TfliteSubgraph, op: TfliteOperator, compilerVersion: number): Unsupported | undefined {
  const name = op.opcode === 'CUSTOM' ? 'CUSTOM' : op.opcode;
  const rule = OP_RULES[name];
  if (!rule) {
    const hint = UNSUPPORTED_HINTS[name];
    return { reason: 'notSupported', detail: `${op.customCode ?? name} is not in the Edge TPU operator table`, ...(hint ? { hint } : {}) };
  }
  if ((rule.minCompiler ?? 0) > compilerVersion) {
    return { reason: 'notSupported', detail: `${name} is mapped from compiler version ${rule.minCompiler} on (predicting for ${compilerVersion})`, hint: `use edgetpu_compiler ${rule.minCompiler} or newer` };
  }
  const maxVersion = rule.maxVersionBefore && compilerVersion < rule.maxVersionBefore[0] ? rule.maxVersionBefore[1] : rule.maxVersion;
  const readable = readableVersion(rule, compilerVersion);
  if (readable !== undefined && op.version > readable) {
    return {
      reason: 'version',
      detail: `${name} version ${op.version}; compiler ${compilerVersion} cannot read versions above ${readable} and refuses the whole model`,
      hint: 'convert with an older TensorFlow (or converter.experimental_new_converter = False) so the operator gets an older version',
      refusal: `ERROR: Didn't find op for builtin opcode '${name}' version '${op.version}'`,
    };
  }
  if (op.version > maxVersion) {
    return { reason: 'version', detail: `${name} version ${op.version}; compiler ${compilerVersion} takes up to version ${maxVersion}`, hint: 'convert with an older TensorFlow, or use a newer edgetpu_compiler' };
  }
  const tensors = [...op.inputs, ...op.outputs].filter((i) => i >= 0);
  for (const i of tensors) {
    const t = sg.tensors[i]!;
    if (t.shapeSignature && t.shapeSignature.slice(1).some((d) => d < 0)) {
      return { reason: 'dynamic', detail: `${label(t, i)} has a dynamic shape [${t.shapeSignature.join(',')}]`, hint: 'fix every dimension (except batch) at conversion time' };
    }
  }
  // QUANTIZE's input dtype is its own constraint (a float input is a different status).
  const dtypeChecked = [...(op.opcode === 'QUANTIZE' ? [] : op.inputs), ...op.outputs].filter((i) => i >= 0);
  for (const i of dtypeChecked) {
    const t = sg.tensors[i]!;
    const constant = isConstant(model, t);
    const ok = t.dtype === 'int8' || t.dtype === 'uint8' ||
      (t.dtype === 'int16' && rule.allowInt16 === true) ||
      (constant && (t.dtype === 'int32' || t.dtype === 'int64'));
    if (!ok) {
      return { reason: 'dataType', detail: `${label(t, i)} is ${t.dtype}${constant ? ' (constant)' : ''}; the Edge TPU computes in int8/uint8`,
        hint: op.opcode === 'DEQUANTIZE' || t.dtype === 'float32' ? FLOAT_IO_HINT : 'quantize the model fully to int8 (reef quantize)' };
    }
  }
  for (const i of tensors) {
    const t = sg.tensors[i]!;
    if (isConstant(model, t)) continue;
    if (t.shape.length > 3 && t.shape.slice(0, -3).some((d) => d > 1)) {
      return { reason: 'rank', detail: `${label(t, i)} has shape [${t.shape.join(',')}]: only the 3 innermost dimensions may exceed 1`, hint: 'use batch size 1 and fold extra dimensions into height/width/channels' };
    }
  }
  for (const id of rule.constraints ?? []) {
    const c = CONSTRAINTS[id];
    if (c.untilCompiler !== undefined && compilerVersion >= c.untilCompiler) continue;
    if (!CONSTRAINT_CHECKS[id]({ model, sg, op })) {
      return { reason: c.reason, detail: `${name} needs ${c.text}`, ...(c.hint ? { hint: c.hint } : {}) };
    }
  }
  return undefined;
}

/** The compiler's words for a reason key. */
export function reasonText(key: ReasonKey): string {
  return REASONS[key];
}
