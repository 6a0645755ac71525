// TODO(issue 13): the trace page; its author replaces this stub.
import { showState } from "../dom";
import type { Mount } from "../router";

export const mount: Mount = (root) => {
  showState(root, "empty", "The trace page is not built yet.");
};
