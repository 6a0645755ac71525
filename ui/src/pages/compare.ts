// TODO(issue 13): the compare page; its author replaces this stub.
import { showState } from "../dom";
import type { Mount } from "../router";

export const mount: Mount = (root) => {
  showState(root, "empty", "The compare page is not built yet.");
};
