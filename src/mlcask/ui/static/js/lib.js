// The UI's one entry to its libraries: Preact (components and hooks) and htm (tagged-template markup,
// no build step). Every page imports from here, never from vendor/ directly.
import { h, render, Fragment, createContext } from "../vendor/preact.mjs";
import htm from "../vendor/htm.mjs";

export { h, render, Fragment, createContext };
export {
  useState, useEffect, useLayoutEffect, useMemo, useCallback, useRef, useContext, useReducer, useId,
} from "../vendor/preact-hooks.mjs";

// html`<div class=${name}>${text}</div>`: values are set as text or DOM properties, never parsed as markup.
export const html = htm.bind(h);
