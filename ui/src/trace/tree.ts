// The timeline's rows: which spans are shown given what is collapsed, in
// flat typed arrays (one index per span, as Perfetto's UI keeps its slices),
// so that collapsing and expanding is one O(n) pass and never recursion.

import type { Trace } from "../model/trace";

/**
 * Rows holds the tree's shape and the visible rows. Spans come in display
 * order (a preorder), so the subtree of span i is the range
 * [i, i + size[i]) and a collapsed span skips it in one step.
 */
export class Rows {
  readonly n: number;
  readonly parent: Int32Array;
  readonly depth: Int32Array;
  /** Spans in the subtree of each span, itself included. */
  readonly size: Int32Array;
  readonly collapsed: Uint8Array;
  /** The visible rows' span indexes, rows[0..count). */
  rows: Int32Array;
  count = 0;
  /** The row of each span, -1 when it is hidden under a collapsed ancestor. */
  readonly rowOf: Int32Array;

  constructor(trace: Trace) {
    const n = (this.n = trace.spans.length);
    this.parent = new Int32Array(n);
    this.depth = new Int32Array(n);
    this.size = new Int32Array(n).fill(1);
    this.collapsed = new Uint8Array(n);
    this.rows = new Int32Array(n);
    this.rowOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const p = trace.spans[i].parent;
      // The model guarantees parent < index; anything else is shown as a root.
      this.parent[i] = p >= 0 && p < i ? p : -1;
      this.depth[i] = this.parent[i] < 0 ? 0 : this.depth[this.parent[i]] + 1;
    }
    for (let i = n - 1; i >= 0; i--) if (this.parent[i] >= 0) this.size[this.parent[i]] += this.size[i];
    this.layout();
  }

  /** layout recomputes the visible rows: O(n), iterative. */
  layout(): void {
    this.rowOf.fill(-1);
    let c = 0;
    for (let i = 0; i < this.n; ) {
      this.rows[c] = i;
      this.rowOf[i] = c++;
      i += this.collapsed[i] ? this.size[i] : 1;
    }
    this.count = c;
  }

  hasChildren(i: number): boolean {
    return this.size[i] > 1;
  }

  /** setCollapsed collapses or expands span i; it reports whether anything changed. */
  setCollapsed(i: number, on: boolean): boolean {
    if (!this.hasChildren(i) || !!this.collapsed[i] === on) return false;
    this.collapsed[i] = on ? 1 : 0;
    this.layout();
    return true;
  }

  /** reveal expands the ancestors of span i so that it has a row; it reports whether anything changed. */
  reveal(i: number): boolean {
    let changed = false;
    for (let p = this.parent[i]; p >= 0; p = this.parent[p]) {
      if (this.collapsed[p]) {
        this.collapsed[p] = 0;
        changed = true;
      }
    }
    if (changed) this.layout();
    return changed;
  }

  /** collapseBelow collapses every span at depth d that has children (d < 0: expands all). */
  collapseBelow(d: number): void {
    for (let i = 0; i < this.n; i++) this.collapsed[i] = d >= 0 && this.depth[i] === d && this.size[i] > 1 ? 1 : 0;
    this.layout();
  }

  /** collapsedList lists the collapsed spans' indexes. */
  collapsedList(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if (this.collapsed[i]) out.push(i);
    return out;
  }
}
