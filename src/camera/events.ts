/**
 * Events from per-frame results (Frigate's idea): an event for a label starts when it is seen in
 * `startFrames` consecutive processed frames and ends after `endFrames` processed frames without it;
 * it carries the best snapshot (highest score, its box and frame).
 */
import type { Box } from '../tasks/resize.js';

export interface CameraEvent {
  type: 'start' | 'end';
  label: string;
  /** Processed-frame index where the event started / ended. */
  frame: number;
  ts: number;
  /** Start: frame where the label was first seen in the run that started it. */
  since_frame: number;
  best: { frame: number; score: number; box: Box | null };
  /** End only: why (absent for `endFrames` frames, or the run stopped). */
  reason?: 'gone' | 'stopped';
}

interface Track {
  seen: number;
  missing: number;
  active: boolean;
  since: number;
  best: { frame: number; score: number; box: Box | null };
}

export class EventTracker {
  private tracks = new Map<string, Track>();

  constructor(private readonly startFrames: number, private readonly endFrames: number, private readonly emit: (e: CameraEvent) => void) {}

  /** Feeds one processed frame: the labels seen in it with their best score and box. */
  update(frame: number, ts: number, seen: Map<string, { score: number; box: Box | null }>): void {
    for (const [label, s] of seen) {
      let t = this.tracks.get(label);
      if (!t) { t = { seen: 0, missing: 0, active: false, since: frame, best: { frame, score: -Infinity, box: null } }; this.tracks.set(label, t); }
      if (t.seen === 0 && !t.active) { t.since = frame; t.best = { frame, score: -Infinity, box: null }; }
      t.seen++;
      t.missing = 0;
      if (s.score > t.best.score) t.best = { frame, score: s.score, box: s.box };
      if (!t.active && t.seen >= this.startFrames) {
        t.active = true;
        this.emit({ type: 'start', label, frame, ts, since_frame: t.since, best: { ...t.best } });
      }
    }
    for (const [label, t] of this.tracks) {
      if (seen.has(label)) continue;
      t.seen = 0;
      if (!t.active) { this.tracks.delete(label); continue; }
      t.missing++;
      if (t.missing >= this.endFrames) {
        this.emit({ type: 'end', label, frame, ts, since_frame: t.since, best: { ...t.best }, reason: 'gone' });
        this.tracks.delete(label);
      }
    }
  }

  /** Ends every open event (the run stopped). */
  close(frame: number, ts: number): void {
    for (const [label, t] of this.tracks) {
      if (t.active) this.emit({ type: 'end', label, frame, ts, since_frame: t.since, best: { ...t.best }, reason: 'stopped' });
    }
    this.tracks.clear();
  }
}
