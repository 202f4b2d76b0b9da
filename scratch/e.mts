import { cli } from '../test/cli.ts';
const r = await cli('eval', '/work/shared/models/tflite/mobilenet_v1_0.25_128_float.tflite', '--labels-csv', '/work/shared/images/imagenet/labels.csv', '--limit', '100', '--json');
console.log(r.out, r.err.slice(-300));
const r2 = await cli('eval', '/work/shared/models/tflite/mobilenet_v1_0.25_128_float.tflite', '--labels-csv', '/work/shared/images/imagenet/labels.csv', '--limit', '100', '--json', '--resize-filter', 'nearest');
console.log(r2.out);
