import { hostProfile, listProfiles, probeHost, type DeviceProfile, type HostFacts } from '../devices.js';
import { ensureLibrary, libraryCandidates } from './library.js';
import type { LibraryInfo } from '../native.js';

export interface RuntimeInfo {
  library: LibraryInfo;
  libraryCandidates: Array<{ path: string; source: string }>;
  host: HostFacts;
  profile: DeviceProfile | null;
  profiles: string[];
  node: string;
}

/** Loads the TFLite library if needed and describes it, the host and its device profile. */
export function libraryInfo(options: { library?: string; device?: string } = {}): RuntimeInfo {
  const profile = hostProfile(options.device);
  const library = ensureLibrary(options.library, profile);
  return {
    library,
    libraryCandidates: libraryCandidates(options.library, profile),
    host: probeHost(),
    profile,
    profiles: listProfiles().map((p) => p.id),
    node: process.version,
  };
}
