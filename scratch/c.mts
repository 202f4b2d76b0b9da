import { cli } from '../test/cli.ts';
const r = await cli('camera', '/work/shared/models/tflite/mobilenet_v1_0.25_128_float.tflite', '--source', 'lavfi:testsrc=size=320x240:rate=25', '--frames', '2', '--json');
console.log(r);
