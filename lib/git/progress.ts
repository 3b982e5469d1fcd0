/**
 * Progress for long git work: a live line (phase, objects, percent) when stderr is a terminal,
 * nothing otherwise (the caller prints one summary line at the end).
 */
import type { GitProgressEvent } from 'isomorphic-git';

export class Progress {
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private last = 0;
  private shown = false;

  constructor(stream: NodeJS.WritableStream & { isTTY?: boolean }) {
    this.stream = stream;
  }

  callback(): ((event: GitProgressEvent) => void) | undefined {
    if (!this.stream.isTTY) return undefined;
    return (event) => {
      const now = Date.now();
      if (now - this.last < 100 && event.loaded !== event.total) return;
      this.last = now;
      const pct = event.total > 0 ? ` ${Math.floor((event.loaded / event.total) * 100)}%` : '';
      const count = event.total > 0 ? ` (${event.loaded}/${event.total})` : ` ${event.loaded}`;
      this.stream.write(`\r\x1b[K${event.phase}:${pct}${count}`);
      this.shown = true;
    };
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
