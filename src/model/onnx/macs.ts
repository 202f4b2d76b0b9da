/**
 * MACs and parameters of ONNX nodes, with the same convention as ../macs.ts: Conv,
 * ConvTranspose, Gemm and MatMul count their multiply-accumulates; parameters are the
 * elements of the initializers a node reads.
 */
import { attr, type OnnxNode } from './ir.js';

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** MACs and parameters of one ONNX node, given a shape lookup and the set of initializer names. */
export function onnxNodeCost(n: OnnxNode, shapeOf: (name: string) => number[] | undefined, initializers: Set<string>): { macs: number; params: number } {
  let params = 0;
  for (const i of n.inputs) if (i && initializers.has(i)) params += prod(shapeOf(i) ?? []);
  const known = (s: number[] | undefined): s is number[] => s !== undefined && s.every((d) => d >= 0);
  const x = n.inputs[0] ? shapeOf(n.inputs[0]) : undefined;
  const w = n.inputs[1] ? shapeOf(n.inputs[1]) : undefined;
  const out = n.outputs[0] ? shapeOf(n.outputs[0]) : undefined;
  let macs = 0;
  switch (n.opType) {
    case 'Conv':
      if (known(out) && known(w) && w.length >= 3) macs = prod(out) * prod(w.slice(1));
      break;
    case 'ConvTranspose': {
      if (known(x) && known(w) && w.length >= 3) macs = prod(x) * prod(w.slice(1));
      break;
    }
    case 'Gemm': {
      const ta = attr(n, 'transA');
      if (known(out) && known(x) && x.length === 2) macs = prod(out) * (ta?.type === 'int' && ta.value ? x[0]! : x[1]!);
      break;
    }
    case 'MatMul':
      if (known(out) && known(x) && x.length >= 1) macs = prod(out) * x[x.length - 1]!;
      break;
    default:
      break;
  }
  return { macs, params };
}
