/**
 * ReefError: the one error class reef throws, with a stable `code`.
 *
 * Every code is listed in {@link ERROR_CODES} with what it means and what to
 * do, and in docs/errors.md (a test keeps the two in step). The native addon
 * creates ReefErrors directly (the class is injected into it by src/native.ts),
 * so a TFLite failure deep in a worker thread reaches the caller as a ReefError
 * carrying TFLite's own words.
 */

export interface ErrorCodeInfo {
  /** What went wrong, in one sentence. */
  meaning: string;
  /** What the user should do about it. */
  fix: string;
  /** HTTP status the REST server answers with. */
  http: number;
}

export const ERROR_CODES = {
  REEF_MODEL_NOT_FOUND: {
    meaning: 'The model file does not exist or cannot be read.',
    fix: 'Check the path (relative paths are resolved from the current directory) and the file permissions.',
    http: 404,
  },
  REEF_MODEL_INVALID: {
    meaning: 'The bytes are not a valid model: wrong file identifier, truncated, corrupt, or out-of-range indices.',
    fix: 'Re-export or re-download the model; compare its sha256 with the source. `reef inspect` names the broken part.',
    http: 400,
  },
  REEF_CUSTOM_OP_UNRESOLVED: {
    meaning: 'The model uses a custom operator that this runtime does not provide (e.g. edgetpu-custom-op).',
    fix: 'For edgetpu-custom-op: install the Edge TPU runtime (libedgetpu) with a Coral device attached, or run the CPU model (the one the compiler was given). For other ops: rebuild the model with builtin ops.',
    http: 422,
  },
  REEF_INPUT_NAME_MISMATCH: {
    meaning: 'A feed names an input the model does not have, or an input is missing.',
    fix: 'Use the names in session.inputs (or pass an array in input order).',
    http: 400,
  },
  REEF_INPUT_SHAPE_MISMATCH: {
    meaning: 'A feed has the wrong number of elements or the wrong shape for its input.',
    fix: 'Give exactly the shape in session.inputs[i].shape (element count = product of the shape).',
    http: 400,
  },
  REEF_INPUT_DTYPE_MISMATCH: {
    meaning: 'A feed is a typed array of another element type than its input.',
    fix: 'Use the typed array for session.inputs[i].dtype (float32 -> Float32Array, int8 -> Int8Array, uint8 -> Uint8Array, ...); quantize() converts floats.',
    http: 400,
  },
  REEF_OUTPUT_MISMATCH: {
    meaning: 'A caller-provided output array has the wrong type or size.',
    fix: 'Pass typed arrays matching session.outputs (dtype and element count), or let run() allocate them.',
    http: 500,
  },
  REEF_DISPOSED: {
    meaning: 'The session was disposed; it can no longer run.',
    fix: 'Load the model again with load().',
    http: 503,
  },
  REEF_LIBRARY_NOT_FOUND: {
    meaning: 'The TensorFlow Lite C library could not be loaded.',
    fix: 'reef ships libtensorflowlite_c for linux-x64 and linux-arm64 (prebuilds/); reinstall reef if it is missing there. On other platforms install tfjs-tflite-node (`npm install tfjs-tflite-node --ignore-scripts`: reef uses only its C library) or point REEF_TFLITE_LIBRARY / the `library` option at a libtensorflowlite_c build for this platform.',
    http: 500,
  },
  REEF_ADDON_NOT_BUILT: {
    meaning: 'The native addon (prebuilds/<platform>-<arch>/reef.node or build/Release/reef.node) is missing or does not load.',
    fix: 'Follow the fix in the message: it depends on where reef is. An installed reef ships prebuilt addons for linux-x64 and linux-arm64; elsewhere `npm rebuild reef` builds one from binding.gyp (python3, make, a C++17 compiler). `reef doctor` lists the files tried.',
    http: 500,
  },
  REEF_NODE_TOO_OLD: {
    meaning: 'The Node.js running reef is older than the version reef needs (package.json engines: Node 20).',
    fix: 'Install Node 20 or newer: the official build for this platform (linux-x64, linux-arm64 for a 64-bit Raspberry Pi OS) from https://nodejs.org/en/download, NodeSource\'s apt repository, or nvm.',
    http: 500,
  },
  REEF_INTERPRETER_FAILED: {
    meaning: 'TensorFlow Lite could not create an interpreter or allocate tensors for this model.',
    fix: 'Read the TFLite message carried in the error; check that the model\'s ops are supported by TFLite 2.9.',
    http: 422,
  },
  REEF_INVOKE_FAILED: {
    meaning: 'TensorFlow Lite reported an error while running the model.',
    fix: 'Read the TFLite message carried in the error; the inputs may be out of the range the model accepts.',
    http: 500,
  },
  REEF_INVALID_ARGUMENT: {
    meaning: 'An argument has the wrong type or value.',
    fix: 'See the message: it names the argument, what was expected and what was received.',
    http: 400,
  },
  REEF_BUSY: {
    meaning: 'An interpreter was asked to run while already running (internal: a Session queues instead).',
    fix: 'Use Session.run, which queues runs across its interpreter pool.',
    http: 503,
  },
  REEF_INVALID_STATE: {
    meaning: 'A native object was used before initialisation or after a failed one.',
    fix: 'Create a new Session with load().',
    http: 500,
  },
  REEF_DEVICE_PROFILE_INVALID: {
    meaning: 'A device profile is missing, unknown or malformed.',
    fix: 'Name one of the profiles in devices/ (reef info lists them) or fix the JSON file named in the message.',
    http: 400,
  },
  REEF_FILE_NOT_FOUND: {
    meaning: 'An input file (image, labels, data) does not exist or cannot be read.',
    fix: 'Check the path named in the message.',
    http: 404,
  },
  REEF_BUNDLE_INVALID: {
    meaning: 'A .reef bundle is corrupt or tampered with: a bad tar, a bad manifest, a missing or unlisted file, or a sha256 mismatch.',
    fix: 'Package the model again with `reef package`, or copy the bundle again and compare its sha256 with the source.',
    http: 400,
  },
  REEF_BUNDLE_VERSION: {
    meaning: 'The bundle\'s manifest has a schema version this reef does not read.',
    fix: 'Upgrade reef on this device, or package the model again with the reef installed here.',
    http: 400,
  },
  REEF_VARIANT_UNAVAILABLE: {
    meaning: 'The bundle has no variant by that name, or none that this host can run.',
    fix: 'Pick one of the variants the message lists (`reef run BUNDLE IMAGE -v` says which one this host chooses and why), or package a CPU variant.',
    http: 400,
  },
  REEF_COMPILER_NOT_FOUND: {
    meaning: 'edgetpu_compiler is not installed (it runs on x86-64 Debian/Ubuntu only).',
    fix: 'Install it from Coral\'s apt repository (package edgetpu-compiler) or pass --compiler PATH; `reef edgetpu check` predicts the result without it.',
    http: 501,
  },
  REEF_COMPILER_FAILED: {
    meaning: 'edgetpu_compiler failed or did not finish in time; the message carries its own words.',
    fix: 'Read the compiler\'s log in the message; run `reef edgetpu check` to see which ops cannot map, or raise --timeout.',
    http: 422,
  },
  REEF_MODEL_ALREADY_QUANTIZED: {
    meaning: 'reef quantize was given a model that is already full-integer (int8 activations).',
    fix: 'Pass the float32 model it was made from (or a legacy uint8 model, which reef re-quantizes to int8).',
    http: 400,
  },
  REEF_MODEL_NOT_FLOAT: {
    meaning: 'reef quantize was given a model whose activations are not float32 (e.g. int32 only), so there is nothing to quantize.',
    fix: 'Pass a float32 TFLite model.',
    http: 400,
  },
  REEF_QUANTIZE_UNSUPPORTED_OP: {
    meaning: 'Some operators have no int8 kernel in TFLite; the message lists each op and its index.',
    fix: 'Add --allow-float to keep those ops in float between DEQUANTIZE/QUANTIZE (the model will not map fully to the Edge TPU), or rebuild the model with supported ops.',
    http: 422,
  },
  REEF_CALIBRATION_INVALID: {
    meaning: 'The calibration data is empty, of the wrong shape or type for the model input, or drives the model to non-finite values.',
    fix: 'Check the --calib folder or files against the model input (reef inspect shows it) and the --mean/--std pre-processing.',
    http: 400,
  },
  REEF_OUTPUT_UNWRITABLE: {
    meaning: 'An output file (model, report, plot, bundle) cannot be written where it was asked for.',
    fix: 'Check that the folder exists and is writable, and that the path is not a folder.',
    http: 500,
  },
  REEF_IMAGE_INVALID: {
    meaning: 'An image could not be decoded.',
    fix: 'Use JPEG, PNG, WebP, GIF, AVIF or TIFF (BMP is not supported); check that the file is not truncated.',
    http: 400,
  },
  REEF_ANNOTATIONS_INVALID: {
    meaning: 'A ground-truth or detections file (COCO instances / results JSON) is not valid JSON, lacks a required field, or refers to images it does not contain.',
    fix: 'The message names the file, the entry and the field; compare with the COCO format (images, annotations with bbox [x,y,w,h] and area, categories; results: image_id, category_id, bbox, score).',
    http: 400,
  },
  REEF_SOURCE_FAILED: {
    meaning: 'A camera or video source could not be opened or read: ffmpeg is missing, or it failed on the source (the message carries its own words).',
    fix: 'Install the Debian package ffmpeg; check the device, file or URL with `ffmpeg -i SOURCE`; for V4L2 devices try --input-format mjpeg and a --size the camera offers.',
    http: 502,
  },
  REEF_TASK_MISMATCH: {
    meaning: 'A task was asked for (by --task, by the model\'s own metadata or bundle manifest, or by the command: eval --coco needs a detector, eval --labels-csv a classifier) and the model\'s outputs do not fit it. The message names the task, where it came from, what it needs, the outputs, and the task they do fit when reef can tell. (When no task was asked for and reef cannot tell one from the outputs, the code is REEF_TASK_UNSUPPORTED.)',
    fix: 'Drop --task (reef takes the task from the metadata or the outputs) or pass the task the message names; `reef inspect` lists the outputs; --raw prints them as they are.',
    http: 422,
  },
  REEF_SERVE_BAD_REQUEST: {
    meaning: 'reef serve received a request it cannot read: malformed JSON, a missing key, or a tensor of the wrong shape, dtype or size for the model.',
    fix: 'Read the message: it names the expected and the received value; GET the model\'s metadata for its inputs.',
    http: 400,
  },
  REEF_SERVE_NOT_FOUND: {
    meaning: 'reef serve has no model, version or label by that name.',
    fix: 'List what is served with GET /v1/models/NAME or POST /v2/repository/index; check --model_name and the version folders.',
    http: 404,
  },
  REEF_SERVE_UNAVAILABLE: {
    meaning: 'The model version exists but is not ready (loading, unloading, or it failed to load).',
    fix: 'Wait until GET /v2/models/NAME/ready answers 200; the model status carries the load error.',
    http: 503,
  },
  REEF_SERVE_OVERLOADED: {
    meaning: 'The model\'s request queue is full (--max-queue); the request was refused before any work.',
    fix: 'Retry after the Retry-After seconds, add interpreters (--interpreters) or raise --max-queue.',
    http: 503,
  },
  REEF_SERVE_DEADLINE: {
    meaning: 'The request\'s deadline passed while it waited in the queue; its work was dropped, not run.',
    fix: 'Give a longer deadline (--deadline-ms, the Request-Timeout-Ms header or the timeout parameter) or send fewer requests at once.',
    http: 504,
  },
  REEF_SERVE_BODY_TOO_LARGE: {
    meaning: 'The request body is larger than the server accepts (--max-body-mb).',
    fix: 'Send a smaller batch, use the binary tensor extension, or raise --max-body-mb.',
    http: 413,
  },
  REEF_SERVE_UNAUTHORIZED: {
    meaning: 'The server requires a bearer token (--token or REEF_SERVE_TOKEN) and the request had none or another.',
    fix: 'Send the header "Authorization: Bearer TOKEN".',
    http: 401,
  },
  REEF_SERVE_MODEL_FORMAT: {
    meaning: 'reef serve found no model it can serve where it looked: a version folder without a model file (or with several), or a model base path / repository without numeric version folders.',
    fix: 'Put one .tflite, .reef or .onnx file in a numeric version folder (BASE/1/model.tflite), or name the file to serve model.tflite.',
    http: 501,
  },
  REEF_SERVE_CONFIG_INVALID: {
    meaning: 'A --model_config_file, a Triton config.pbtxt or a model repository is malformed (a syntax error, an unknown field, a name that escapes the repository) or does not match the model (a config.pbtxt field that disagrees with the model file: the message names it).',
    fix: 'Fix the file at the line and column the message names (TF Serving\'s text-format model_config_list, Triton\'s model configuration), or the field it names.',
    http: 400,
  },
  REEF_CONVERT_UNSUPPORTED_OP: {
    meaning: 'The ONNX model uses an operator (or an attribute value of one) that `reef convert` cannot express in TFLite; the message names the op type, the node name and its index.',
    fix: 'Re-export the model without that op (e.g. a newer/older opset, or simplify it with onnxsim), or run the .onnx as it is with load(): onnxruntime runs every op.',
    http: 422,
  },
  REEF_CONVERT_DYNAMIC_SHAPE: {
    meaning: 'An ONNX input has dimensions that are not fixed numbers (batch, height, width...), and TFLite needs static shapes.',
    fix: 'Fix them with --input-shape NAME=1,3,240,320 (one per dynamic input; the message names them).',
    http: 422,
  },
  REEF_CONVERT_QUANTIZED_ONNX: {
    meaning: 'The ONNX model is already quantized (QuantizeLinear/DequantizeLinear or QLinear* ops); reef converts float models only.',
    fix: 'Convert the float ONNX model, then let reef quantize it: `reef convert model.onnx -o m.tflite` and `reef quantize m.tflite --calib DIR`.',
    http: 422,
  },
  REEF_CONVERT_MISMATCH: {
    meaning: 'The converted TFLite model does not reproduce onnxruntime\'s outputs within onnx2tf\'s bounds (max |diff| <= max(5e-2, 2e-3 * max |ref|), cosine >= 0.999); the message names the output and the first ONNX node whose output diverges.',
    fix: 'Report the model and the message; `--no-check` writes the model anyway (at your own risk).',
    http: 422,
  },
  REEF_QUANTIZE_LOW_SQNR: {
    meaning: 'The int8 model reef quantize made is too far from the float model: an output has an SQNR below 10 dB on held samples, so it was not written.',
    fix: 'Follow the message: keep the layers it names in float (--keep-float), try another --method, give calibration data like the real inputs, or pass --accept-low-sqnr to write it anyway.',
    http: 422,
  },
  REEF_MODEL_DEFECT: {
    meaning: 'The model has a known converter defect that TensorFlow Lite 2.9 refuses (e.g. a quantized_dimension outside a 1-D bias tensor\'s shape); the message names each tensor.',
    fix: 'Run `reef repair MODEL -o FIXED.tflite` and use the repaired model; when the message says a defect has no unambiguous fix, convert the model again with a current TFLite converter.',
    http: 422,
  },
  REEF_NOTHING_TO_REPAIR: {
    meaning: '`reef repair` was given a model without any defect it knows: there is nothing to change.',
    fix: 'Use the model as it is; if it still fails to load, the error you got names the reason (`reef inspect` shows the model).',
    http: 400,
  },
  REEF_INTERNAL_ERROR: {
    meaning: 'A defect in reef itself: something failed that reef did not expect to fail.',
    fix: 'Report it with the command you ran and the output of `REEF_DEBUG=1 reef ...` (which adds the stack trace).',
    http: 500,
  },
  REEF_TASK_UNSUPPORTED: {
    meaning: 'No task was asked for, the model declares none (TFLite metadata, bundle manifest), and its outputs are none of the layouts reef reads (classify: one scores vector; detect: TFLite_Detection_PostProcess, BlazeFace heads, a grid head; segment: one [1,H,W(,C)] map). (When a task was asked for and the outputs do not fit it, the code is REEF_TASK_MISMATCH.)',
    fix: 'Pass --task classify|detect|segment|embed if you know what the model does, or run it with --raw to print every output tensor (or --save DIR for .npy files).',
    http: 400,
  },
  REEF_EDGETPU_RUNTIME_MISSING: {
    meaning: 'The model needs the Edge TPU runtime (libedgetpu.so.1), and none could be loaded.',
    fix: 'Install libedgetpu1-std from Coral\'s apt repository (or set REEF_EDGETPU_LIBRARY), or run the CPU model; `reef doctor` checks the setup.',
    http: 503,
  },
  REEF_EDGETPU_RUNTIME_TOO_OLD: {
    meaning: 'The compiled model needs a newer Edge TPU runtime than the one installed (the message names both versions).',
    fix: 'Upgrade libedgetpu, or recompile the model for the installed runtime with `edgetpu_compiler -m N` (`reef edgetpu compile --min-runtime N`).',
    http: 503,
  },
  REEF_EDGETPU_NO_DEVICE: {
    meaning: 'No Edge TPU device matches: none is attached, or the device spec (usb:N, pci:N, :N) names one that is not there.',
    fix: 'Plug in the Coral device (USB 3 port) or check the PCIe driver; the message lists the devices that do exist. `--edgetpu off` runs on the CPU.',
    http: 503,
  },
  REEF_EDGETPU_DEVICE_LOST: {
    meaning: 'A run on the Edge TPU failed the way a device that went away (unplugged, reset, USB error) fails.',
    fix: 'Check the device (`reef doctor`, the USB cable and port). The session keeps looking for it and goes back to it when it is there again; a .reef bundle runs its CPU variant meanwhile.',
    http: 503,
  },
  REEF_INVOKE_TIMEOUT: {
    meaning: 'An invoke made no progress within the watchdog limit (a stuck Edge TPU or a hung kernel); it was abandoned and its interpreter replaced.',
    fix: 'Check the device (`reef doctor`); raise the limit (watchdogMs / --watchdog MS) if the model is just slow on this board.',
    http: 504,
  },
  REEF_SERVE_LISTEN_FAILED: {
    meaning: 'reef serve could not listen on the address and port asked for: another process holds the port, or the address is not one of this machine\'s.',
    fix: 'Choose another port with --rest_api_port (0 picks a free one) or stop the process that holds it (`ss -ltnp` shows it); check --host.',
    http: 500,
  },
  REEF_DEPLOY_TARGET_INVALID: {
    meaning: 'The deploy target is not one reef understands (ssh://user@host[:port][/dir] or serial:///dev/ttyX?baud=N), or an option does not fit it.',
    fix: 'Write the target as ssh://pi@192.168.1.20/home/pi/reef or serial:///dev/ttyUSB0?baud=115200; `reef deploy --help` lists the forms.',
    http: 400,
  },
  REEF_DEPLOY_CONNECT_FAILED: {
    meaning: 'The board could not be reached: nothing answers at that host and port, the name does not resolve, or the serial device cannot be opened.',
    fix: 'Check that the board is powered and on the network (or the cable plugged in), the host name and port, and that sshd (or `reef agent --serial`) runs on it.',
    http: 502,
  },
  REEF_DEPLOY_HOST_UNKNOWN: {
    meaning: 'The board\'s SSH host key is not in known_hosts; reef will not send anything to a host it cannot identify.',
    fix: 'Compare the fingerprint in the message with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on the board, then rerun with --accept-new to record it.',
    http: 502,
  },
  REEF_DEPLOY_HOST_KEY_CHANGED: {
    meaning: 'The board answered with a different SSH host key than known_hosts records for it: the board was reinstalled, or someone is in between.',
    fix: 'Find out why the key changed. If the board was reinstalled, remove its old line (`ssh-keygen -R HOST -f KNOWN_HOSTS`) and deploy again with --accept-new.',
    http: 502,
  },
  REEF_DEPLOY_AUTH_FAILED: {
    meaning: 'The board refused every key offered (the --identity key, the ssh-agent\'s keys, ~/.ssh/id_*).',
    fix: 'Install your public key on the board (`ssh-copy-id user@host`), or pass the right key with --identity; check the user name in the target.',
    http: 502,
  },
  REEF_DEPLOY_CONNECTION_LOST: {
    meaning: 'The connection to the board dropped before the deploy finished; what was installed before is still in place.',
    fix: 'Check the network and the board, then run the same deploy again (the partial copy is discarded).',
    http: 502,
  },
  REEF_DEPLOY_LINK_LOST: {
    meaning: 'The serial link went silent (cable pulled, agent stopped) for longer than --link-timeout; the chunks already received are kept on the board.',
    fix: 'Reconnect the cable and check that `reef agent --serial DEV` runs on the board, then rerun the same deploy: it resumes where it stopped.',
    http: 502,
  },
  REEF_DEPLOY_LINK_UNRELIABLE: {
    meaning: 'Too many frames on the serial link arrived damaged or not at all, even after retransmission.',
    fix: 'Lower the baud rate (?baud=57600), check the cable, the ground and that both ends use the same baud rate; then rerun (received chunks are kept).',
    http: 502,
  },
  REEF_DEPLOY_CHECKSUM_MISMATCH: {
    meaning: 'The file on the board does not have the sha256 of the file sent; it was not installed.',
    fix: 'Rerun the deploy; if it happens again, check the board\'s storage (SD card) for errors.',
    http: 502,
  },
  REEF_DEPLOY_NO_SPACE: {
    meaning: 'The board has no room for the bundle; nothing was installed, the previous version is still in place.',
    fix: 'Free space on the board (`df -h` there), or deploy to a folder on a bigger disk (ssh://user@host/path).',
    http: 507,
  },
  REEF_DEPLOY_PERMISSION_DENIED: {
    meaning: 'The user on the board may not write the deploy folder (or the unit folder); nothing was installed.',
    fix: 'Deploy to a folder that user owns (the default is ~/reef), or fix its permissions on the board.',
    http: 403,
  },
  REEF_DEPLOY_REMOTE_FAILED: {
    meaning: 'A command reef ran on the board failed (the message carries its exit status and its own words).',
    fix: 'Read the board\'s message; `reef deploy --status TARGET` and `reef doctor` on the board show what is missing.',
    http: 502,
  },
  REEF_DEPLOY_NOTHING_TO_ROLLBACK: {
    meaning: 'The board keeps no previous version to go back to (only one deploy was made there, or none).',
    fix: 'Deploy the older bundle explicitly with `reef deploy OLD.reef TARGET`.',
    http: 409,
  },
  REEF_DEPLOY_INVENTORY_INVALID: {
    meaning: 'The --inventory file is not an Ansible YAML inventory reef can read, or names no hosts.',
    fix: 'Write it as Ansible\'s YAML inventory: all: {hosts: {pi1: {ansible_host: 10.0.0.5, ansible_user: pi}}, children: {...}}; the message names the bad entry.',
    http: 400,
  },
  REEF_DEPLOY_FLEET_FAILED: {
    meaning: 'The deploy failed on one or more boards of the inventory; the others got it. The summary lists each failure with its reason.',
    fix: 'Fix the boards named in the summary and rerun with --limit HOST to deploy only to them.',
    http: 502,
  },
  REEF_ONNX_RUNTIME_MISSING: {
    meaning: 'An .onnx model needs onnxruntime-node, an optional dependency of reef that is not installed in this app (or does not load on this machine).',
    fix: 'Install it beside reef: `npm install onnxruntime-node@^1.30.0`; or convert the model to TFLite once where it is installed (`reef convert model.onnx -o model.tflite`) and run that.',
    http: 501,
  },
  REEF_DEPLOY_BOARD_NODE: {
    meaning: 'reef deploy --install found no Node.js on the board, or one older than reef needs (20).',
    fix: 'Install Node 20 or newer on the board (Raspberry Pi OS: `sudo apt install nodejs` from NodeSource\'s node_20.x repository, or the linux-arm64 tarball from nodejs.org), then rerun with --install.',
    http: 412,
  },
  REEF_DEPLOY_BOARD_UNSUPPORTED: {
    meaning: 'reef deploy --install: the board is not a platform reef ships prebuilt addons for (linux-x64, linux-arm64), e.g. a 32-bit Raspberry Pi OS (armv7l).',
    fix: 'Install the 64-bit OS on the board (Raspberry Pi OS 64-bit), or install reef there yourself and build its addon (`npm rebuild reef` with python3, make and g++).',
    http: 412,
  },
  REEF_DEPLOY_INSTALL_FAILED: {
    meaning: 'reef deploy --install could not prepare reef for the board on this machine (npm pack, or the staging npm install from the npm cache).',
    fix: 'The message has npm\'s own words. Without network, the npm cache must hold reef\'s dependencies for the board: run the same deploy once online, or `npm cache add` them.',
    http: 500,
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ReefErrorCode = keyof typeof ERROR_CODES;

export class ReefError extends Error {
  readonly code: ReefErrorCode;

  constructor(code: ReefErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReefError';
    this.code = (code in ERROR_CODES ? code : 'REEF_INVALID_STATE') as ReefErrorCode;
  }

  /** What the user should do, from the code table. */
  get fix(): string {
    return ERROR_CODES[this.code].fix;
  }
}

/** True when `e` is a ReefError, optionally with the given code. */
export function isReefError(e: unknown, code?: ReefErrorCode): e is ReefError {
  return e instanceof ReefError && (code === undefined || e.code === code);
}

/** sharp's sentence for every bad argument: "Expected X for Y but received Z". */
export function invalidArgument(name: string, expected: string, actual: unknown): ReefError {
  return new ReefError('REEF_INVALID_ARGUMENT', `Expected ${expected} for ${name} but received ${describe(actual)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `"${v.length > 60 ? v.slice(0, 57) + '...' : v}"`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as { length?: number }).length ?? v.byteLength})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}
