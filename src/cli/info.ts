/** `reef info`: the TFLite library, XNNPACK, and the device profile of this host. */
import type { Command } from 'commander';
import { libraryInfo } from '../runtime/info.js';
import type { CliIO } from './io.js';

export function registerInfo(program: Command, io: CliIO): void {
  program
    .command('info')
    .description('show the TensorFlow Lite library, XNNPACK availability and the host device profile')
    .option('--library <path>', 'libtensorflowlite_c to load')
    .option('--device <id>', 'device profile to use instead of the detected one')
    .option('--json', 'print JSON')
    .action((opts: { library?: string; device?: string; json?: boolean }) => {
      const info = libraryInfo(opts);
      if (opts.json) {
        io.out(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      const p = info.profile;
      io.out(
        [
          `TFLite library   ${info.library.path}`,
          `TFLite version   ${info.library.version}`,
          `XNNPACK          ${info.library.xnnpack ? 'available (int8 QS8 path on)' : 'not in this library'}`,
          `host             ${info.host.platform}-${info.host.arch}${info.host.deviceTreeModel ? `, ${info.host.deviceTreeModel}` : ''}`,
          `device profile   ${p ? `${p.id} (${p.name}), ${p.defaultThreads} thread(s) by default` : 'none matches this host'}`,
          `accelerators     ${p && p.accelerators.length ? p.accelerators.map((a) => `${a.type} over ${a.interface}`).join(', ') : 'none'}`,
          `profiles         ${info.profiles.join(', ')}`,
          `node             ${info.node}`,
        ].join('\n') + '\n',
      );
    });
}
